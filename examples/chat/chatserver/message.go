package chatserver

import (
	"errors"

	"github.com/ferryio/ferry"
)

// message is a chat message as clients see it.
type message struct {
	ID   uint64 `json:"id"`
	Room string `json:"room"`
	From string `json:"from"` // the sender's socket id
	Nick string `json:"nick"`
	Text string `json:"text"`
	Time int64  `json:"time"` // when the server received it, in Unix milliseconds
}

// sendRequest is the "message" event's argument.
type sendRequest struct {
	Text string `json:"text"`
}

// sendReply acknowledges "message": the page marks the message delivered,
// with the server's id and time.
type sendReply struct {
	ID   uint64 `json:"id"`
	Time int64  `json:"time"`
}

// message handles "message": the text goes to the rest of the room and
// into its history. The sender has it already, and learns from the ack
// that it was delivered.
func (s *Server) message(sock *ferry.Socket, req sendRequest) (sendReply, error) {
	text, err := cleanText(req.Text)
	if err != nil {
		return sendReply{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.members[sock.ID()]
	if m == nil {
		return sendReply{}, errNotJoined
	}
	s.lastID++
	msg := message{ID: s.lastID, Room: m.room, From: m.id, Nick: m.nick, Text: text, Time: s.now().UnixMilli()}
	r := s.rooms[m.room]
	if len(r.history) == historySize {
		r.history = append(r.history[:0], r.history[1:]...)
	}
	r.history = append(r.history, msg)
	if err := sock.To(m.room).Emit("message", msg); err != nil && !errors.Is(err, ferry.ErrDisconnected) {
		return sendReply{}, err
	}
	return sendReply{ID: msg.ID, Time: msg.Time}, nil
}
