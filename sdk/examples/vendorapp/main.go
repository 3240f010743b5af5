// Command vendorapp is the smallest program a vendor would write against the
// SDK: it connects to the desktop client, asks for a device license for a
// fingerprint, verifies it offline with the vendor's public key, saves a file
// to the cloud drive and prints every event. It imports only the SDK's
// packages (sdk; protocol for the event type and names; token for the
// vendor key) and the standard library, so its stripped size is what the SDK
// adds to a product; TestVendorAppBinarySize in package sdk measures it.
//
//	vendorapp -devinfo 'MAC|disk|board|CPU' -pubkey <base64> -save /path/to/part.prt
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/iscdesk/iscdesk/protocol"
	"github.com/iscdesk/iscdesk/sdk"
	"github.com/iscdesk/iscdesk/token"
)

func main() {
	socket := flag.String("socket", "", "agent socket (default: the per-user path, or $"+protocol.SocketEnv+")")
	devInfo := flag.String("devinfo", "", "this machine's MAC|disk|board|CPU fingerprint")
	pubKey := flag.String("pubkey", "", "the vendor's Ed25519 public key, base64")
	save := flag.String("save", "", "a file to save to the cloud drive")
	assembly := flag.Bool("assembly", false, "save the file's assembly folder as one unit")
	timeout := flag.Duration("timeout", 30*time.Second, "how long the whole run may take")
	flag.Parse()
	if err := run(*socket, *devInfo, *pubKey, *save, *assembly, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "vendorapp:", err)
		os.Exit(1)
	}
}

func run(socket, devInfo, pubKey, save string, assembly bool, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	opts := []sdk.Option{sdk.WithApp("vendorapp", "1.0.0")}
	if socket != "" {
		opts = append(opts, sdk.WithSocketPath(socket))
	}
	c, err := sdk.Connect(ctx, opts...)
	if err != nil {
		return err
	}
	defer c.Close()
	c.RegisterEventRecall(func(e protocol.Event) {
		b, _ := json.Marshal(e)
		fmt.Println("event:", string(b))
	})

	if devInfo != "" {
		if err := license(ctx, c, devInfo, pubKey); err != nil {
			return err
		}
	}
	if save != "" {
		out, err := c.Save(ctx, save, assembly)
		if err != nil {
			return err
		}
		fmt.Println("saved:", out.Result.Params[protocol.CloudPathKey])
	}
	return nil
}

// license gets a device license, verifies it and tells the desktop client
// the verdict, as the published flow asks.
func license(ctx context.Context, c *sdk.Client, devInfo, pubKey string) error {
	pub, err := token.ParsePublicKey(pubKey)
	if err != nil {
		return err
	}
	tok, err := c.GetLicenseString(ctx, devInfo)
	if err != nil {
		return err
	}
	lic, verr := sdk.VerifyDeviceLicense(tok, pub, devInfo, time.Now())
	msg := ""
	if verr != nil {
		msg = verr.Error()
	}
	if err := c.LicenseVerifyNotify(ctx, verr == nil, msg); err != nil {
		return errors.Join(verr, err)
	}
	if verr != nil {
		return verr
	}
	fmt.Printf("license %s valid until %s\n", lic.License, time.Unix(lic.Expires, 0).Format(time.RFC3339))
	return nil
}
