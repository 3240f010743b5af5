package agent

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/iscdesk/iscdesk/agent/activity"
	"github.com/iscdesk/iscdesk/agent/clouddrive"
	"github.com/iscdesk/iscdesk/agent/solver"
	"github.com/iscdesk/iscdesk/fingerprint/devinfo"
	"github.com/iscdesk/iscdesk/internal/atomicfile"
	"github.com/iscdesk/iscdesk/internal/errs"
	"github.com/iscdesk/iscdesk/internal/filecopy"
	"github.com/iscdesk/iscdesk/licensing"
	"github.com/iscdesk/iscdesk/protocol"
)

type handler func(ctx context.Context, cn *conn, m protocol.Message)

func (s *Server) handlers() map[string]handler {
	return map[string]handler{
		protocol.MethodGetLicenseString:    s.getLicense,
		protocol.MethodGetLicenseFile:      s.getLicense,
		protocol.MethodLicenseVerifyNotify: s.licenseVerifyNotify,
		protocol.MethodCheckNewVersions:    s.checkNewVersions,
		protocol.MethodUpgradeNotify:       s.upgradeNotify,
		protocol.MethodOpenCloudFile:       s.openCloudFile,
		protocol.MethodSave:                s.save,
		protocol.MethodGetSolution:         s.getSolution,
		protocol.MethodSelectSaveAsPath:    s.selectSaveAsPath,
	}
}

func (s *Server) getLicense(ctx context.Context, cn *conn, m protocol.Message) {
	p, ok := decode[protocol.LicenseParams](cn, m)
	if !ok {
		return
	}
	if _, err := devinfo.Parse(p.DevInfo); err != nil {
		cn.fail(m.ID, protocol.CodeInvalidParams, "devInfo: "+err.Error())
		return
	}
	asFile := m.Method == protocol.MethodGetLicenseFile
	var target string
	if asFile {
		var err error
		if target, err = s.licenseFilePath(p.FileName); err != nil {
			cn.fail(m.ID, protocol.CodeInvalidParams, err.Error())
			return
		}
	}
	s.call(ctx, cn, m, "device license", p.ComeBackParams, protocol.EventLicenseVerify, func(_ context.Context, id string) (map[string]string, error) {
		if s.cfg.Licenses == nil {
			return nil, errNotConfigured("the license source")
		}
		// The connection's context: a queued request ends when the program
		// disconnects.
		token, leaseEnds, err := s.issue(cn.ctx, cn, p, func(r *licensing.Refusal) {
			s.cfg.Activity.update(id, func(e *activity.Entry) { e.Status = "queued" })
			cn.emit(protocol.Event{Operate: protocol.EventLicenseQueued, Params: poolParams(r), ComeBackParams: comeBackWith(p.ComeBackParams, id)})
		})
		if err != nil {
			var r *licensing.Refusal
			if errors.As(err, &r) && r.Reason == licensing.ReasonPoolFull {
				return poolParams(r), err
			}
			return nil, err
		}
		params := map[string]string{"LicenseContent": token, "LicenseType": "string"}
		if !leaseEnds.IsZero() {
			params[protocol.LeaseEndsKey] = leaseEnds.UTC().Format(time.RFC3339)
		}
		if !asFile {
			return params, nil
		}
		if err := atomicfile.Write(target, []byte(token+"\n"), 0o600); err != nil {
			return nil, errs.E("license file", filecopy.KindOf(err), fmt.Errorf("writing the license file: %w", err))
		}
		delete(params, "LicenseContent")
		params["LicenseFilePath"], params["LicenseType"] = target, "file"
		return params, nil
	})
}

// licenseFilePath resolves the file name of GetLicenseFileRequest: an
// absolute path as given, a bare name inside LicenseDir.
func (s *Server) licenseFilePath(name string) (string, error) {
	switch {
	case name == "":
		return "", errors.New("fileName is empty")
	case filepath.IsAbs(name):
		return filepath.Clean(name), nil
	case strings.ContainsAny(name, `/\`) || name == "." || name == "..":
		return "", errors.New("fileName must be an absolute path or a bare file name")
	case s.cfg.LicenseDir == "":
		return "", errors.New("fileName must be an absolute path")
	}
	return filepath.Join(s.cfg.LicenseDir, name), nil
}

func (s *Server) licenseVerifyNotify(_ context.Context, cn *conn, m protocol.Message) {
	p, ok := decode[protocol.VerifyNotifyParams](cn, m)
	if !ok {
		return
	}
	e := activity.Entry{ID: newID(), Time: time.Now(), App: cn.app, Call: m.Method, Status: "success", Finished: time.Now()}
	if !p.OK {
		e.Status, e.Err = "failed", p.ErrMsg
	}
	s.cfg.Activity.add(e)
	cn.reply(m.ID, struct{}{})
}

func (s *Server) checkNewVersions(ctx context.Context, cn *conn, m protocol.Message) {
	p, ok := decode[protocol.CallParams](cn, m)
	if !ok {
		return
	}
	s.call(ctx, cn, m, cn.app+" "+cn.appV, p.ComeBackParams, protocol.EventUpgradeNotice, func(ctx context.Context, _ string) (map[string]string, error) {
		if s.cfg.Updates == nil {
			return nil, errNotConfigured("the update check")
		}
		u, err := s.cfg.Updates.Check(ctx, cn.app, cn.appV)
		if err != nil {
			return nil, err
		}
		if !u.Available {
			return map[string]string{"available": "false"}, nil
		}
		return map[string]string{"available": "true", "version": u.Version}, nil
	})
}

func (s *Server) upgradeNotify(ctx context.Context, cn *conn, m protocol.Message) {
	p, ok := decode[protocol.UpgradeParams](cn, m)
	if !ok {
		return
	}
	s.call(ctx, cn, m, fmt.Sprintf("upgrade=%v", p.Upgrade), p.ComeBackParams, protocol.EventUpdate, func(ctx context.Context, _ string) (map[string]string, error) {
		if !p.Upgrade {
			return map[string]string{"fromForceWin": "false"}, nil
		}
		if s.cfg.Updates == nil {
			return nil, errNotConfigured("the update check")
		}
		u, err := s.cfg.Updates.Prepare(ctx, cn.app, cn.appV)
		if err != nil {
			return nil, err
		}
		return map[string]string{"fromForceWin": strconv.FormatBool(u.Force)}, nil
	})
}

func (s *Server) openCloudFile(ctx context.Context, cn *conn, m protocol.Message) {
	p, ok := decode[protocol.CallParams](cn, m)
	if !ok {
		return
	}
	s.call(ctx, cn, m, "", p.ComeBackParams, protocol.EventOpenFile, func(ctx context.Context, _ string) (map[string]string, error) {
		if s.cfg.Pick == nil {
			return nil, errNotConfigured("choosing a cloud file")
		}
		// Nothing to choose from: say so at once, whoever picks.
		if s.cfg.Storage != nil {
			if files, err := s.cfg.Storage.List(ctx); err == nil && len(files) == 0 {
				return nil, errEmptyDrive
			}
		}
		f, err := s.cfg.Pick(ctx)
		if err != nil {
			return nil, err
		}
		return map[string]string{"mainFile": f.Path, "openType": "OpenOnly", "workState": "CHECKIN", "assembly": strconv.FormatBool(f.Assembly)}, nil
	})
}

func (s *Server) save(ctx context.Context, cn *conn, m protocol.Message) {
	p, ok := decode[protocol.SaveParams](cn, m)
	if !ok {
		return
	}
	if !filepath.IsAbs(p.Path) {
		cn.fail(m.ID, protocol.CodeInvalidParams, "path must be absolute")
		return
	}
	s.call(ctx, cn, m, p.Path, p.ComeBackParams, protocol.EventSaveResult, func(ctx context.Context, id string) (map[string]string, error) {
		if s.cfg.Storage == nil {
			return nil, errNotConfigured("the cloud drive")
		}
		cb := comeBackWith(p.ComeBackParams, id)
		start := map[string]string{"path": p.Path, "assembly": strconv.FormatBool(p.Assembly)}
		cn.emit(protocol.Event{Operate: protocol.EventUploadStart, Params: start, ComeBackParams: cb})
		res, err := s.cfg.Storage.Save(ctx, clouddrive.SaveRequest{Path: p.Path, Assembly: p.Assembly}, func(done, total int64) {
			s.cfg.Activity.update(id, func(e *activity.Entry) { e.Done, e.Total = done, total })
		})
		end := map[string]string{"path": p.Path, "status": protocol.StatusSuccess}
		if err != nil {
			end["status"], end[protocol.KindKey] = protocol.StatusFailed, kindOf(err).Name()
		}
		cn.emit(protocol.Event{Operate: protocol.EventUploadEnd, Params: end, ComeBackParams: cb})
		if err != nil {
			return nil, err
		}
		return map[string]string{"name": res.Name, "cloudPath": res.Stored, "sha256": res.SHA256, "bytes": strconv.FormatInt(res.Bytes, 10)}, nil
	})
}

func (s *Server) getSolution(ctx context.Context, cn *conn, m protocol.Message) {
	p, ok := decode[protocol.SolutionParams](cn, m)
	if !ok {
		return
	}
	if !filepath.IsAbs(p.Path) {
		cn.fail(m.ID, protocol.CodeInvalidParams, "path must be absolute")
		return
	}
	s.call(ctx, cn, m, p.Path, p.ComeBackParams, protocol.EventSolutionResult, func(ctx context.Context, _ string) (map[string]string, error) {
		if s.cfg.Solver == nil {
			return nil, errNotConfigured("the solver (solver_command)")
		}
		res, err := s.cfg.Solver.Solve(ctx, solver.Request{Input: p.Path})
		params := map[string]string{"resultPath": res.ResultDir, "log": res.Log, "exitCode": strconv.Itoa(res.ExitCode)}
		return params, err
	})
}

func (s *Server) selectSaveAsPath(ctx context.Context, cn *conn, m protocol.Message) {
	p, ok := decode[protocol.SaveAsParams](cn, m)
	if !ok {
		return
	}
	suggested := clouddrive.SaveAsRequest{FileName: p.FileName, Assembly: p.Assembly}
	if _, err := clouddrive.SaveAsEntry(suggested); err != nil {
		cn.fail(m.ID, protocol.CodeInvalidParams, "fileName: "+err.Error())
		return
	}
	s.call(ctx, cn, m, p.FileName, p.ComeBackParams, protocol.EventSaveAsPath, func(ctx context.Context, _ string) (map[string]string, error) {
		if s.cfg.Storage == nil {
			return nil, errNotConfigured("the cloud drive")
		}
		if s.cfg.SaveAs == nil {
			return nil, errNotConfigured("choosing where to save")
		}
		name, err := s.cfg.SaveAs(ctx, suggested)
		if err != nil {
			return nil, err
		}
		// Whoever chose, the choice is checked like the suggestion was, here
		// and by the storage, which knows its entries.
		chosen := clouddrive.SaveAsRequest{FileName: name, Assembly: p.Assembly}
		if _, err := clouddrive.SaveAsEntry(chosen); err != nil {
			return nil, errs.E("agent", errs.Invalid, fmt.Errorf("the name chosen: %w", err))
		}
		f, err := s.cfg.Storage.SaveAsTarget(chosen)
		if err != nil {
			return nil, err
		}
		return map[string]string{protocol.SavePathKey: f.Path, protocol.NameKey: f.Name, protocol.FileNameKey: name,
			protocol.AssemblyKey: strconv.FormatBool(p.Assembly)}, nil
	})
}
