module github.com/iscdesk/iscdesk

go 1.26.0

require (
	github.com/denisbrodbeck/machineid v1.0.1
	github.com/zalando/go-keyring v0.2.8
	golang.org/x/sys v0.49.0
)

require (
	github.com/danieljoos/wincred v1.2.3 // indirect
	github.com/godbus/dbus/v5 v5.2.2 // indirect
)
