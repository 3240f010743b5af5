module github.com/iscdesk/iscdesk

go 1.26.8

require (
	github.com/danieljoos/wincred v1.2.3 // indirect
	github.com/denisbrodbeck/machineid v1.0.1 // indirect
	github.com/godbus/dbus/v5 v5.2.2 // indirect
	github.com/zalando/go-keyring v0.2.8 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
