package main

import (
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNginxConfig checks the configuration the command writes: nginx
// accepts it (nginx -t), its upstream lists every chat server, with plain
// round-robin (nothing sticky), and WebSocket upgrades are passed on.
func TestNginxConfig(t *testing.T) {
	t.Parallel()
	bin, err := nginxBinary()
	require.NoError(t, err)
	dir := t.TempDir()
	servers := []string{"127.0.0.1:3101", "127.0.0.1:3102", "127.0.0.1:3103"}
	path, err := writeNginxConfig(dir, "127.0.0.1:3100", servers)
	require.NoError(t, err)
	out, err := exec.Command(bin, "-t", "-p", dir, "-c", path, "-e", "stderr").CombinedOutput()
	require.NoError(t, err, "nginx -t: %s", out)

	data, err := os.ReadFile(path)
	require.NoError(t, err)
	conf := string(data)
	upstream := regexp.MustCompile(`(?s)upstream ferry_chat \{(.*?)\n\t\}`).FindStringSubmatch(conf)
	require.NotNil(t, upstream, "no upstream block in:\n%s", conf)
	var directives []string
	for _, line := range strings.Split(upstream[1], "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			directives = append(directives, line)
		}
	}
	assert.Equal(t, []string{"server 127.0.0.1:3101;", "server 127.0.0.1:3102;", "server 127.0.0.1:3103;"}, directives)
	for _, want := range []string{
		"listen 127.0.0.1:3100;",
		"proxy_pass http://ferry_chat;",
		"proxy_http_version 1.1;",
		"proxy_set_header Host $http_host;",
		"proxy_set_header Upgrade $http_upgrade;",
		"proxy_set_header Connection $connection_upgrade;",
		"proxy_read_timeout 60s;",
		"add_header " + upstreamHeader + " $upstream_addr always;",
	} {
		assert.Contains(t, conf, want)
	}
}

// TestFlags checks the command's flag validation.
func TestFlags(t *testing.T) {
	t.Parallel()
	cfg, err := parseCluster(nil, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, clusterConfig{addr: "127.0.0.1:3100", servers: 3, serverPort: 3101, redisPort: 3110}, cfg)
	for _, args := range [][]string{
		{"-servers", "0"},
		{"-server-port", "65535", "-servers", "2"},
		{"-redis-port", "70000"},
		{"-addr", "3100"},
		{"extra"},
	} {
		_, err := parseCluster(args, io.Discard)
		assert.Error(t, err, "%v", args)
	}

	s, err := parseServe([]string{"-addr", "127.0.0.1:0", "-redis", "127.0.0.1:6379", "-sharded"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, serveConfig{addr: "127.0.0.1:0", redis: "127.0.0.1:6379", sharded: true}, s)
	_, err = parseServe([]string{"extra"}, io.Discard)
	assert.Error(t, err)
}
