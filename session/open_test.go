package session

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestOpenPayloadAsJSON(t *testing.T) {
	// The open packet's JSON, written by hand, is what encoding/json
	// writes for the same fields in the same order, escapes included.
	type open struct {
		SID          string   `json:"sid"`
		Upgrades     []string `json:"upgrades"`
		PingInterval int64    `json:"pingInterval"`
		PingTimeout  int64    `json:"pingTimeout"`
		MaxPayload   int64    `json:"maxPayload"`
	}
	for _, sid := range []string{"AbC_dEf-0123456789xY", "", `a"b\c`, "é<>&\u2028"} {
		for _, upgrade := range []bool{false, true} {
			want := open{SID: sid, Upgrades: []string{}, PingInterval: 25000, PingTimeout: -1, MaxPayload: 1e6}
			if upgrade {
				want.Upgrades = []string{"websocket"}
			}
			b, err := json.Marshal(want)
			assert.NoError(t, err)
			assert.Equal(t, string(b), string(appendOpenPayload(nil, sid, upgrade, 25000, -1, 1e6)), "sid %q, upgrade %v", sid, upgrade)
		}
	}
}
