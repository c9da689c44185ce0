//go:build windows

package spool

// syncDir is a no-op on Windows, where directories cannot be fsynced;
// NTFS journals the rename.
func syncDir(string) {}
