package runs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
)

// Spec is one trainer invocation: a stage of a run.
type Spec struct {
	RunID int64
	Stage string   // train, evaluate, merge, quantize
	Args  []string // the trainer verb and its flags
	Dir   string   // the run's directory (exists)
	Log   io.Writer
}

// Launcher starts trainer processes. The local one runs child processes; a cluster
// launcher would submit jobs and stream their output the same way.
type Launcher interface {
	Launch(ctx context.Context, spec Spec) (Process, error)
}

// Process is a running trainer.
type Process interface {
	// Events is the trainer's stdout: JSON-lines events. It reaches EOF when the trainer exits.
	Events() io.Reader
	// Interrupt asks the trainer to checkpoint and exit (SIGINT).
	Interrupt() error
	// Kill ends it now.
	Kill() error
	// Wait waits for the exit, after Events has been read to EOF.
	Wait() error
}

// Local runs the trainer as a child process in its own process group, so that signals
// reach it (and whatever `go run` starts) and not the server, and a crash in training
// cannot take the server down.
type Local struct {
	Command []string // e.g. ["bin/trainer"] or ["go", "run", "./trainer"]
	Env     []string // added to the server's environment
}

type localProcess struct {
	cmd    *exec.Cmd
	stdout io.ReadCloser
}

// Launch implements Launcher.
func (l Local) Launch(ctx context.Context, spec Spec) (Process, error) {
	if len(l.Command) == 0 {
		return nil, errors.New("runs: no trainer command configured")
	}
	args := append(append([]string{}, l.Command[1:]...), spec.Args...)
	cmd := exec.Command(l.Command[0], args...)
	cmd.Env = append(append(os.Environ(), l.Env...), "MEDQA_RUN_ID="+fmt.Sprint(spec.RunID))
	cmd.Stderr = spec.Log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", l.Command[0], err)
	}
	return &localProcess{cmd, out}, nil
}

func (p *localProcess) Events() io.Reader { return p.stdout }

func (p *localProcess) signal(sig syscall.Signal) error {
	// The negative pid is the process group.
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

func (p *localProcess) Interrupt() error { return p.signal(syscall.SIGINT) }
func (p *localProcess) Kill() error      { return p.signal(syscall.SIGKILL) }
func (p *localProcess) Wait() error      { return p.cmd.Wait() }
