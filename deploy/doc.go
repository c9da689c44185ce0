// Package deploy holds deployment files (systemd units, example
// configurations); its test keeps every example loadable.
package deploy
