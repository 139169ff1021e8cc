// Package nonblock makes the system calls of the hot paths on descriptors the
// runtime's poller owns: the fast client's socket (its exchange and its idle
// check) and the open-model dispatcher's timerfd (its read, and on Linux its
// arming, SetTimer). Such a descriptor is non-blocking, so no call here
// blocks. On Linux they go straight to the kernel, not through syscall.Read
// and Write: those tell the Go scheduler a blocking call begins
// (entersyscall), and on a process that was idle that wakes the runtime's
// monitor thread, which then runs and sleeps again. At an
// open model's tens of thousands of requests a second that doubled the
// process's context switches and cost a quarter of its CPU per request
// (docs/performance.md). Each call is made again when a signal interrupts it
// (EINTR). Unix systems only.
package nonblock
