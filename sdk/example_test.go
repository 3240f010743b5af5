package sdk_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/sdk"
	"github.com/iscdesk/iscdesk/token"
)

// startExampleAgent starts an in-process fake agent, standing in for the
// desktop client so that the examples run. It returns the socket path to pass
// with sdk.WithSocketPath (real programs use the default) and a stop
// function.
func startExampleAgent() (socket string, stop func()) {
	dir, err := os.MkdirTemp("", "sdk-example")
	if err != nil {
		log.Fatal(err)
	}
	a, err := startFakeAgent(filepath.Join(dir, "agent.sock"))
	if err != nil {
		log.Fatal(err)
	}
	return a.path, func() {
		a.stop()
		os.RemoveAll(dir)
	}
}

// vendorPublicKey is the vendor's Ed25519 public key as the marketplace
// shows it (base64); programs embed it.
func vendorPublicKey() string {
	return "6kpsY+KcUgq+9VB7Ey7F+ZVHdq6+vnuSQh7qaRRG0iw="
}

func ExampleConnect() {
	socket, stop := startExampleAgent()
	defer stop()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := sdk.Connect(ctx, sdk.WithSocketPath(socket), sdk.WithApp("bracket-cad", "3.1.0"))
	if err != nil {
		fmt.Println("the desktop client is not running:", err)
		return
	}
	defer c.Close()
	fmt.Println("connected to agent", c.AgentVersion())
	// Output: connected to agent fake-1
}

func ExampleClient_Save() {
	socket, stop := startExampleAgent()
	defer stop()
	ctx := context.Background()
	c, err := sdk.Connect(ctx, sdk.WithSocketPath(socket))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	events := c.Events()

	// The program has written the file to disk; Save uploads what is there
	// and waits for the SaveResult.
	out, err := c.Save(ctx, "/home/ana/parts/bracket.prt", false)
	switch {
	case errors.Is(err, sdk.ErrOperationFailed):
		fmt.Println("save failed:", err)
		return
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println("saved as", out.Result.Params[protocol.NameKey])

	// Every event also went to the channel (and the callback): a UI blocks
	// editing between UploadStart and UploadEnd.
	for range 3 {
		e := <-events
		fmt.Println(e.Operate, e.RequestID() == out.RequestID)
	}
	// Output:
	// saved as bracket.prt
	// UploadStart true
	// UploadEnd true
	// SaveResult true
}

func ExampleClient_GetLicenseString() {
	socket, stop := startExampleAgent()
	defer stop()
	ctx := context.Background()
	c, err := sdk.Connect(ctx, sdk.WithSocketPath(socket))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	// devInfo is this machine's MAC|disk|board|CPU fingerprint, as the
	// program computes it.
	devInfo := "04:7C:16:5E:E3:5D|001B_444A_488B_5CEC.|PF0ABC12|BFEBFBFF00090672"
	tok, err := c.GetLicenseString(ctx, devInfo)
	if err != nil {
		log.Fatal(err)
	}
	pub, err := token.ParsePublicKey(vendorPublicKey())
	if err != nil {
		log.Fatal(err)
	}
	lic, err := sdk.VerifyDeviceLicense(tok, pub, devInfo, time.Now())
	if err != nil {
		// Tell the desktop client, then refuse to run.
		_ = c.LicenseVerifyNotify(ctx, false, err.Error())
		fmt.Println("no valid license:", err)
		return
	}
	if err := c.LicenseVerifyNotify(ctx, true, ""); err != nil {
		log.Fatal(err)
	}
	fmt.Println("licensed:", lic.License, "product", lic.ProductID)
	// Output: licensed: LIC-TEST-0001 product P-1
}

func ExampleClient_RegisterEventRecall() {
	socket, stop := startExampleAgent()
	defer stop()
	ctx := context.Background()
	c, err := sdk.Connect(ctx, sdk.WithSocketPath(socket))
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	done := make(chan struct{})
	c.RegisterEventRecall(func(e protocol.Event) {
		// Runs on the client's goroutine, one event at a time; it may call
		// the client (even Close).
		fmt.Printf("%s %v doc=%s\n", e.Operate, e.Params[protocol.StatusKey], e.ComeBackParams["doc"])
		if e.Operate == protocol.EventSaveResult {
			close(done)
		}
	})
	// The published asynchronous style: the call returns once accepted.
	if _, err := c.SaveRequest(ctx, "/home/ana/parts/bracket.prt", false, sdk.ComeBackParams(map[string]string{"doc": "7"})); err != nil {
		log.Fatal(err)
	}
	<-done
	// Output:
	// UploadStart  doc=7
	// UploadEnd success doc=7
	// SaveResult success doc=7
}

func ExampleVerifyDeviceLicense() {
	// The issuer's side (the sandbox or the vendor's license gateway).
	_, priv, _ := ed25519.GenerateKey(nil)
	now := time.Now()
	tok, err := token.Sign(priv, token.Claims{
		License: "LIC-0001", DevInfo: "04:7C:16:5E:E3:5D|DISK1|BOARD1|CPU1",
		IssuedAt: now.Unix(), Expires: now.Add(30 * 24 * time.Hour).Unix(),
	})
	if err != nil {
		log.Fatal(err)
	}

	// The program's side, offline, with the vendor's public key.
	pub := priv.Public().(ed25519.PublicKey)
	for _, devInfo := range []string{
		"04:7C:16:5E:E3:5D|DISK1|BOARD1|CPU1",
		"04:7C:16:5E:E3:5D|DISK2|BOARD1|CPU1", // the disk was replaced: tolerated
		"04:7C:16:5E:E3:5D|DISK2|BOARD2|CPU1", // disk and board: another machine
	} {
		_, err := sdk.VerifyDeviceLicense(tok, pub, devInfo, now)
		fmt.Println(err == nil, errors.Is(err, sdk.ErrLicenseWrongDevice))
	}
	// Output:
	// true false
	// true false
	// false true
}
