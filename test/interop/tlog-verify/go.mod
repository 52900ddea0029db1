module logwarden.test/tlog-verify

go 1.19

require golang.org/x/mod v0.7.0

// The Debian package golang-golang-x-mod-dev installs the sources here; the build is offline.
replace golang.org/x/mod => /usr/share/gocode/src/golang.org/x/mod
