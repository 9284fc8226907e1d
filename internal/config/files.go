package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// Size limits for the files driftd reads while loading its configuration.
// A file over its limit is refused rather than read without bound.
const (
	// MaxSecretFileSize bounds a secret file (client secret, certificate
	// password, API token, Slack token or webhook URL).
	MaxSecretFileSize = 64 << 10
	// MaxCertificateFileSize bounds entra.certificate_file and the CA
	// bundles (ca_file): a PKCS#12 file or a full CA bundle is larger
	// than any secret, but not a megabyte.
	MaxCertificateFileSize = 1 << 20
	// MaxConfigFileSize bounds the configuration file itself.
	MaxConfigFileSize = 1 << 20
)

// openedFile is what readRegularFile read, with the fstat of the
// descriptor it read from.
type openedFile struct {
	data []byte
	info fs.FileInfo
}

// readRegularFile reads at most limit bytes from a regular file. It never
// blocks: the file is opened with O_NONBLOCK (so opening a FIFO with no
// writer returns at once), the opened descriptor is fstat'ed (a check of
// the path before opening it would race with a rename), and anything but
// a regular file is refused before a byte is read. check, when not nil,
// sees the descriptor's FileInfo before the content is read.
//
// Errors are one line: "<field>: <path> is a named pipe, not a regular
// file", "<field>: <path> is larger than 64 KiB", "<field>: cannot read
// <path>: permission denied".
func readRegularFile(field, path string, limit int64, check func(fs.FileInfo) error) (openedFile, error) {
	shown := displayPath(path)
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		// %w: a caller may treat a missing file as not configured.
		return openedFile{}, fmt.Errorf("%s: cannot read %s: %w", field, shown, unwrapPathError(err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return openedFile{}, fmt.Errorf("%s: cannot read %s: %v", field, shown, unwrapPathError(err))
	}
	if !info.Mode().IsRegular() {
		return openedFile{}, fmt.Errorf("%s: %s is %s, not a regular file", field, shown, describeFileType(info.Mode()))
	}
	if info.Size() > limit {
		return openedFile{}, fmt.Errorf("%s: %s is larger than %s", field, shown, formatSize(limit))
	}
	if check != nil {
		if err := check(info); err != nil {
			return openedFile{}, err
		}
	}
	// The size from fstat can be stale (the file may grow while it is
	// read): read one byte more than allowed to notice.
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return openedFile{}, fmt.Errorf("%s: cannot read %s: %v", field, shown, unwrapPathError(err))
	}
	if int64(len(b)) > limit {
		return openedFile{}, fmt.Errorf("%s: %s is larger than %s", field, shown, formatSize(limit))
	}
	return openedFile{data: b, info: info}, nil
}

// describeFileType names a non-regular file type for an error message.
func describeFileType(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "an irregular file"
}

// formatSize renders a limit for an error message: "64 KiB", "1 MiB".
func formatSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// displayPath shows a path in a one-line error: as is when it is plain,
// quoted when it holds spaces, quotes or control characters.
func displayPath(p string) string {
	if q := strconv.Quote(p); q[1:len(q)-1] != p || p == "" {
		return q
	}
	for _, r := range p {
		if r == ' ' {
			return strconv.Quote(p)
		}
	}
	return p
}

// unwrapPathError drops the operation and path from an *fs.PathError (the
// message already names the path): "permission denied", "is a directory".
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// fileSecret is a secret read from the file at path, labelled with its
// absolute path (the path may be relative to the working directory).
func fileSecret(v, path string) Secret {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	return Secret{value: v, source: "from file " + path}
}

// ReadCABundle reads a CA bundle named by a ca_file key the way every
// file of the configuration is read: a regular file only, without
// blocking, at most MaxCertificateFileSize bytes.
func ReadCABundle(path string) ([]byte, error) {
	f, err := readRegularFile("CA bundle", path, MaxCertificateFileSize, nil)
	return f.data, err
}
