package power

import "testing"

func TestServiceControl(t *testing.T) {
	const (
		wtsSessionLogon  = 0x5
		wtsSessionLogoff = 0x6
		wtsSessionLock   = 0x7
		pbtPowerStatus   = 0xA    // PBT_APMPOWERSTATUSCHANGE
		pbtSetting       = 0x8013 // PBT_POWERSETTINGCHANGE
		ctlPause         = 0x2
		ctlParamChange   = 0x6
	)
	tests := []struct {
		name    string
		cmd, ev uint32
		want    Action
	}{
		{"stop", ctlStop, 0, Stop},
		{"system shutdown", ctlShutdown, 0, Stop},
		{"preshutdown", ctlPreShutdown, 0, Stop},
		{"interrogate", ctlInterrogate, 0, Interrogate},
		{"suspend", ctlPowerEvent, pbtAPMSuspend, Sleep},
		{"resume automatic", ctlPowerEvent, pbtAPMResumeAutomatic, Wake},
		{"resume by a user", ctlPowerEvent, pbtAPMResumeSuspend, Wake},
		{"battery status", ctlPowerEvent, pbtPowerStatus, Ignore},
		{"power setting", ctlPowerEvent, pbtSetting, Ignore},
		{"logoff keeps the machine up", ctlSessionChange, wtsSessionLogoff, Ignore},
		{"logon", ctlSessionChange, wtsSessionLogon, Ignore},
		{"lock", ctlSessionChange, wtsSessionLock, Ignore},
		{"suspend code outside a power event", ctlSessionChange, pbtAPMSuspend, Ignore},
		{"pause", ctlPause, 0, Ignore},
		{"param change", ctlParamChange, 0, Ignore},
		{"unknown", 0xFFFF, 0, Ignore},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ServiceControl(tc.cmd, tc.ev); got != tc.want {
				t.Errorf("ServiceControl(%#x, %#x): got %v, want %v", tc.cmd, tc.ev, got, tc.want)
			}
		})
	}
}
