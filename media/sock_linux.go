package media

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"
)

// connectUDP fixes the socket's peer. A connected UDP socket skips the
// per-packet route lookup and address handling of sendto: on the test VM
// that cut the cost of a send by about a third, the largest single item of
// a call's CPU budget. The kernel then also drops datagrams from any other
// source before they wake us.
func connectUDP(c *net.UDPConn, to netip.AddrPort) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var sa syscall.Sockaddr
	if to.Addr().Is4() && c.LocalAddr().(*net.UDPAddr).IP.To4() != nil {
		sa = &syscall.SockaddrInet4{Port: int(to.Port()), Addr: to.Addr().As4()}
	} else {
		sa = &syscall.SockaddrInet6{Port: int(to.Port()), Addr: to.Addr().As16()}
	}
	var cerr error
	if err := rc.Control(func(fd uintptr) { cerr = syscall.Connect(int(fd), sa) }); err != nil {
		return err
	}
	return cerr
}

// disconnectUDP makes the socket accept datagrams from anyone again
// (connect with AF_UNSPEC). The local port survives because sockets are
// always bound to an explicit port (see portAllocator).
func disconnectUDP(c *net.UDPConn) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var cerr error
	err = rc.Control(func(fd uintptr) {
		sa := syscall.RawSockaddr{Family: syscall.AF_UNSPEC}
		_, _, errno := syscall.Syscall(syscall.SYS_CONNECT, fd, uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
		if errno != 0 {
			cerr = errno
		}
	})
	if err != nil {
		return err
	}
	return cerr
}
