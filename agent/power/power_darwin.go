package power

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/ebitengine/purego"
)

// Watch runs the agent's own binary as the power helper (HelperCommand)
// and follows its notices. macOS announces sleep through IOKit, which the
// helper calls without cgo (ebitengine/purego); it runs apart so that a
// fault there costs only the notices.
func Watch(ctx context.Context, h Handler, _ Options) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	return watchHelper(ctx, h, exec.Command(exe, HelperCommand))
}

// IOKit power messages (IOKit/IOMessage.h).
const (
	kIOMessageCanSystemSleep     = 0xe0000270
	kIOMessageSystemWillSleep    = 0xe0000280
	kIOMessageSystemHasPoweredOn = 0xe0000300
)

// Helper is the power helper's main: it registers with IOKit for system
// power notices (IORegisterForSystemPower), runs the CoreFoundation run
// loop that delivers them, and speaks the helper protocol on stdin and
// stdout. A sleep is allowed (IOAllowPowerChange) once the agent answers
// done, or after SleepBudget and a second.
func Helper() int {
	runtime.LockOSThread() // the run loop, and the callbacks, belong to this thread
	// The agent stops the helper; a Ctrl-C meant for the agent must not.
	signal.Ignore(os.Interrupt, syscall.SIGTERM)
	out := bufio.NewWriter(os.Stdout)
	var outMu sync.Mutex
	say := func(line string) {
		outMu.Lock()
		defer outMu.Unlock()
		out.WriteString(line + "\n")
		out.Flush()
	}
	fail := func(format string, args ...any) int {
		say(lineError + fmt.Sprintf(format, args...))
		return 1
	}
	iokit, err := purego.Dlopen("/System/Library/Frameworks/IOKit.framework/IOKit", purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return fail("IOKit: %v", err)
	}
	cf, err := purego.Dlopen("/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation", purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return fail("CoreFoundation: %v", err)
	}
	var (
		ioRegisterForSystemPower           func(refcon uintptr, portRef *uintptr, callback uintptr, notifier *uint32) uint32
		ioNotificationPortGetRunLoopSource func(port uintptr) uintptr
		ioAllowPowerChange                 func(kernelPort uint32, notificationID uintptr) int32
		cfRunLoopGetCurrent                func() uintptr
		cfRunLoopAddSource                 func(runLoop, source, mode uintptr)
		cfRunLoopRun                       func()
		cfStringCreateWithCString          func(alloc uintptr, s string, encoding uint32) uintptr
	)
	purego.RegisterLibFunc(&ioRegisterForSystemPower, iokit, "IORegisterForSystemPower")
	purego.RegisterLibFunc(&ioNotificationPortGetRunLoopSource, iokit, "IONotificationPortGetRunLoopSource")
	purego.RegisterLibFunc(&ioAllowPowerChange, iokit, "IOAllowPowerChange")
	purego.RegisterLibFunc(&cfRunLoopGetCurrent, cf, "CFRunLoopGetCurrent")
	purego.RegisterLibFunc(&cfRunLoopAddSource, cf, "CFRunLoopAddSource")
	purego.RegisterLibFunc(&cfRunLoopRun, cf, "CFRunLoopRun")
	purego.RegisterLibFunc(&cfStringCreateWithCString, cf, "CFStringCreateWithCString")
	// The default run loop mode, by name: run loops compare mode names
	// with CFEqual, so this string serves as kCFRunLoopDefaultMode.
	const kCFStringEncodingUTF8 = 0x08000100
	mode := cfStringCreateWithCString(0, "kCFRunLoopDefaultMode", kCFStringEncodingUTF8)
	if mode == 0 {
		return fail("CFStringCreateWithCString failed")
	}

	// The agent's answers; stdin closing means the agent is gone.
	done := make(chan struct{}, 1)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			if sc.Text() == lineDone {
				select {
				case done <- struct{}{}:
				default:
				}
			}
		}
		os.Exit(0)
	}()

	var rootPort uint32
	callback := purego.NewCallback(func(refcon uintptr, service uint32, messageType uint32, argument uintptr) {
		switch messageType {
		case kIOMessageCanSystemSleep:
			ioAllowPowerChange(rootPort, argument)
		case kIOMessageSystemWillSleep:
			select { // a stale answer from an earlier sleep does not count
			case <-done:
			default:
			}
			say(lineSleep)
			select {
			case <-done:
			case <-time.After(SleepBudget + time.Second):
			}
			ioAllowPowerChange(rootPort, argument)
		case kIOMessageSystemHasPoweredOn:
			say(lineWake)
		}
	})
	var port uintptr
	var notifier uint32
	rootPort = ioRegisterForSystemPower(0, &port, callback, &notifier)
	if rootPort == 0 {
		return fail("IORegisterForSystemPower failed")
	}
	cfRunLoopAddSource(cfRunLoopGetCurrent(), ioNotificationPortGetRunLoopSource(port), mode)
	say(lineReady)
	cfRunLoopRun()
	return 0
}
