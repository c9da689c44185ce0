package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
)

func init() {
	Register("filesystem", true, func(ps PS, o Options, logger *slog.Logger) Collector {
		return &filesystemCollector{ps: ps, logger: logger, opts: o}
	})
}

// DefaultExcludedFSTypes lists the pseudo and network filesystems skipped
// unless configured otherwise: they are not the host's own storage.
func DefaultExcludedFSTypes() []string {
	return []string{
		"autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts",
		"devtmpfs", "fusectl", "hugetlbfs", "iso9660", "mqueue", "nsfs", "overlay", "proc",
		"procfs", "pstore", "rpc_pipefs", "securityfs", "selinuxfs", "squashfs", "sysfs",
		"tracefs", "nfs", "nfs4", "cifs", "smbfs", "fuse.sshfs", "fuse.lxcfs",
	}
}

type filesystemCollector struct {
	ps     PS
	logger *slog.Logger
	opts   Options
}

// Collect reports size, free, available space and inodes per mount point,
// with node_exporter's names and labels (device, fstype, mountpoint).
func (c *filesystemCollector) Collect(ctx context.Context, b *Batch) error {
	parts, err := c.ps.Partitions(ctx)
	if err != nil {
		return err
	}
	seen := make(map[string]bool, len(parts))
	var errs []error
	for _, p := range parts {
		if slices.Contains(c.opts.ExcludeFSTypes, p.Fstype) || seen[p.Mountpoint] ||
			(c.opts.ExcludeMountPoints != nil && c.opts.ExcludeMountPoints.MatchString(p.Mountpoint)) ||
			(c.opts.IncludeMountPoints != nil && !c.opts.IncludeMountPoints.MatchString(p.Mountpoint)) {
			continue
		}
		seen[p.Mountpoint] = true
		u, err := c.ps.Usage(ctx, p.Mountpoint)
		if err != nil {
			// One unreadable mount (a stale network share) must not hide the others.
			errs = append(errs, fmt.Errorf("usage of %s: %w", p.Mountpoint, err))
			continue
		}
		l := []string{"device", p.Device, "fstype", p.Fstype, "mountpoint", p.Mountpoint}
		b.Add("node_filesystem", "size_bytes", float64(u.Total), l...)
		b.Add("node_filesystem", "free_bytes", float64(u.Total-u.Used), l...)
		b.Add("node_filesystem", "avail_bytes", float64(u.Free), l...)
		b.Add("node_filesystem", "files", float64(u.InodesTotal), l...)
		b.Add("node_filesystem", "files_free", float64(u.InodesFree), l...)
	}
	return errors.Join(errs...)
}
