//go:build !linux && !windows && !darwin

package power

import "context"

// Watch reports that this system gives no notice before sleeping: the
// agent still says goodbye when it is stopped or the machine shuts down.
func Watch(context.Context, Handler, Options) error { return ErrUnsupported }
