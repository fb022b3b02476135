// Package proxy holds no code: this folder has nginx configurations that
// put the chat example behind a reverse proxy, with and without WebSocket
// upgrades (see README.md), and the tests that run the chat through a real
// nginx in both modes.
package proxy
