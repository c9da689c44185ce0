package yamlconf

import (
	"fmt"
	"net"
	"strconv"
)

// CheckListenAddress checks a host:port to listen on as net.Listen would
// read it, before anything is opened: a port is a number from 0 to
// 65535 (0: any free port) or a service name the system knows.
func CheckListenAddress(addr, network string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if port == "" {
		return fmt.Errorf("address %s: missing port number", addr)
	}
	if n, err := strconv.Atoi(port); err == nil {
		if n < 0 || n > 65535 {
			return fmt.Errorf("address %s: port %d out of range (0 to 65535)", addr, n)
		}
		return nil
	}
	if _, err := net.LookupPort(network, port); err != nil {
		return fmt.Errorf("address %s: port %q is neither a number from 0 to 65535 nor a known service", addr, port)
	}
	return nil
}
