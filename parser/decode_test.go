package parser_test

import (
	"testing"

	"github.com/ferryio/ferry/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var codecs = map[string]parser.Codec{"msgpack": parser.Msgpack(), "json": parser.JSON()}

func TestDecodeCases(t *testing.T) {
	t.Parallel()
	for _, c := range decodeCases {
		t.Run(c.codec+"/"+c.name, func(t *testing.T) {
			ms, err := decodeFrames(codecs[c.codec], c.frames)
			if c.want == "" {
				require.Error(t, err)
				require.ErrorIs(t, err, parser.ErrInvalidPacket)
				var pe *parser.PacketError
				require.ErrorAs(t, err, &pe)
				assert.Equal(t, c.codec, pe.Codec)
				assert.Equal(t, "decode", pe.Op)
				assert.NotEmpty(t, pe.Reason)
				return
			}
			require.NoError(t, err)
			assert.JSONEq(t, c.want, tagMessages(t, ms))
		})
	}
}
