//go:build !linux

package warm

const (
	sockFlags = 0
	recvFlags = 0
	sendFlags = 0
)
