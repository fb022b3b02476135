package redisadapter

import "github.com/ferryio/ferry"

func newSharded(f *Factory, h *hub, nsp *ferry.Namespace) ferry.Adapter { panic("later") }
