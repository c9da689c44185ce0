//go:build !linux && !windows

package power

import "context"

// Watch reports that this system gives no notice before sleeping (macOS
// announces sleep only through IOKit, which needs cgo, and the agent is
// built without it): the agent still says goodbye when it is stopped or
// the machine shuts down.
func Watch(context.Context, Handler, Options) error { return ErrUnsupported }
