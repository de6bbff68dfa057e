package pgtest

import "syscall"

// procAttr starts postgres as the leader of its own process group (so
// that Kill reaches its backends too, and a Ctrl-C in the terminal does
// not), and has the kernel send it SIGQUIT, PostgreSQL's immediate
// shutdown, if the test binary dies before stopping it: no server
// outlives its tests. (The signal follows the thread that started the
// server; Go ends threads only for goroutines that lock one and exit.)
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}
}
