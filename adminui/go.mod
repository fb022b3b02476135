module github.com/ferryio/ferry/adminui

go 1.26.8

replace (
	github.com/ferryio/ferry => ../
	github.com/ferryio/ferry/redisadapter => ../redisadapter
)

require (
	github.com/ferryio/ferry v0.0.0-00010101000000-000000000000
	github.com/ferryio/ferry/redisadapter v0.0.0-00010101000000-000000000000
	github.com/redis/go-redis/v9 v9.23.0
	github.com/stretchr/testify v1.12.1
	go.uber.org/goleak v1.3.0
	golang.org/x/crypto v0.59.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/gorilla/websocket v1.5.3 // indirect
	github.com/vmihailenco/msgpack/v5 v5.4.1 // indirect
	github.com/vmihailenco/tagparser/v2 v2.0.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
