; iscdesk.nsi: the Windows installer of the iscdesk desktop client (NSIS 3,
; 64-bit). deploy/dist.sh builds it with
;   makensis -DVERSION=x.y.z [-DWINVERSION=x.y.z] -DEXE=iscdesk.exe
;            -DDESKTOPEXE=iscdesk-desktop.exe -DOUTFILE=setup.exe iscdesk.nsi
;
; It installs two programs: iscdesk.exe (every command, a console program)
; and iscdesk-desktop.exe (the window, a GUI program), which the Start menu
; shortcut starts; `iscdesk` without arguments starts it too.
;
; Silent use (docs/installer.md):
;   setup.exe /S [/SERVER=URL] [/SERVERKEY=KEY] [/PROXY=URL] [/GRACEDAYS=N] [/NOSHORTCUTS]
;             [/D=C:\Path]
;   "C:\Program Files\iscdesk\uninstall.exe" /S [/PURGE]
; /D= is NSIS's own switch: it must come last and is taken verbatim
; (/D=C:\Program Files\x); "/D=C:\Program Files\x", as tools that quote each
; argument pass it, works too. Other values may be quoted the same two ways.
; A value runs to the next " /", so /SERVER=https://host/path needs no
; quotes (NSIS's own ${GetOptions} would cut it at the first "/").
;
; Settings given with /SERVER (the vendor's license server), /SERVERKEY (its
; public key, pinned), /PROXY or /GRACEDAYS become the machine-wide
; configuration %ProgramData%\iscdesk\config.json (replaced by a new file
; holding exactly the given settings; without any, an existing file is kept,
; so an upgrade keeps them). Every install, with settings or not, makes that
; folder the administrators' (SecureConfigDir): users may create files in
; %ProgramData%, and a folder or file a user made first would otherwise let
; that user choose the settings of everyone. The client refuses a
; machine-wide file that others than the administrators can change.
;
; Staged install: the files are extracted to $INSTDIR\.staging (same volume),
; then each is moved over the live file with MoveFileEx(REPLACE_EXISTING),
; a rename: an interrupted install leaves the old or the new iscdesk.exe and
; iscdesk-desktop.exe, never a half-written one, and running setup again
; completes it. A running program cannot be replaced but can be renamed: it
; is renamed away first and deleted at the next reboot.
;
; Uninstall runs every step even when one fails, then exits with status 1;
; the Add/Remove Programs entry then stays so that it can be run again.
; NSIS runs uninstall.exe from a copy in %TEMP% and returns at once; to wait
; for it and get its exit status, pass _?=<install folder> last:
;   uninstall.exe /S _?=C:\Program Files\iscdesk
; (uninstall.exe itself is then deleted at the next reboot).
;
; Every run appends to a log in %TEMP%: iscdesk-install.log and
; iscdesk-uninstall.log (outside the install folder, so uninstall can remove
; the folder and the log still says what happened).
;
; Exit status: 0 done, 1 failed (see the log), 2 usage error.

Unicode true
Target amd64-unicode
RequestExecutionLevel admin
SetCompressor /SOLID lzma
ManifestDPIAware true

!include FileFunc.nsh
!include LogicLib.nsh

!ifndef VERSION
  !error "pass -DVERSION=x.y.z"
!endif
!ifndef EXE
  !error "pass -DEXE=path\to\iscdesk.exe"
!endif
!ifndef DESKTOPEXE
  !error "pass -DDESKTOPEXE=path\to\iscdesk-desktop.exe"
!endif
!ifndef WINVERSION
  !define WINVERSION "${VERSION}"  ; numbers only: x.y.z
!endif
!ifndef OUTFILE
  !define OUTFILE "iscdesk-${VERSION}-windows-amd64-setup.exe"
!endif

!define APPNAME "ISCDesk"
; The machine-wide configuration folder's security: owner Administrators; full
; control for SYSTEM and Administrators, read and execute for Users, on the
; folder and inherited by its files; nothing inherited from %ProgramData%
; (P: protected).
!define CONFIGSDDL "O:BAD:PAI(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1200a9;;;BU)"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\iscdesk"

Name "${APPNAME} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\iscdesk"
; An upgrade goes where the earlier version is.
InstallDirRegKey HKLM "${UNINSTKEY}" "InstallLocation"
ShowInstDetails show
ShowUninstDetails show

VIProductVersion "${WINVERSION}.0"
VIAddVersionKey "ProductName" "${APPNAME}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${APPNAME} installer"
VIAddVersionKey "CompanyName" "iscdesk"
VIAddVersionKey "LegalCopyright" "iscdesk authors"

Page directory
Page instfiles
UninstPage instfiles

Var Log          ; the log file handle
Var Failures     ; failed steps (uninstall)
Var Server
Var ServerSet
Var ServerKey
Var ServerKeySet
Var Proxy
Var ProxySet
Var Grace
Var GraceSet
Var Shortcuts
Var Purge

; ---- helpers shared by the installer and the uninstaller -------------------

; LOG appends a line to the log (and the details view).
!macro LOG text
  FileWrite $Log "${text}$\r$\n"
  DetailPrint "${text}"
!macroend

; GetOpt: in (stack): the parameters, then an option ("/NAME=" or "/FLAG").
; Out: its value on the stack, the error flag set when it is absent.
; ${GetOptions} would cut an unquoted URL at its first "/" (its delimiter):
; here a value runs to the next switch (" /" or ' "/'), or in quotes to the
; closing quote: /NAME=value, /NAME="a value", and "/NAME=a value" (what
; tools that quote each argument holding a space pass) all work.
!macro GETOPT_FUNC un
Function ${un}GetOpt
  Exch $1
  Exch
  Exch $0
  Push $2
  Push $3
  Push $4
  Push $5
  Push $6
  Push $7
  StrCpy $0 " $0 "
  StrCpy $7 $1                   ; the option as given
  StrCpy $1 " $7"                ; first form: /NAME
  StrLen $4 $1
  StrLen $5 $0
  StrCpy $2 0
  StrCpy $6 ""
search:
  IntCmp $2 $5 next_form 0 next_form
  StrCpy $3 $0 $4 $2
  IntOp $2 $2 + 1
  StrCmp $3 $1 0 search          ; StrCmp ignores case: /s and /S match
  IntOp $2 $2 + $4
  IntOp $2 $2 - 1                ; $2: the character after the option
  StrCpy $3 $1 1 -1
  StrCmp $3 "=" value
  StrCpy $3 $0 1 $2              ; a flag ends at a space or the closing
  StrCmp $3 " " present          ; quote: /PURGEX is not /PURGE
  StrCmp $3 '"' present search
next_form:
  StrCmp $1 ' "$7' absent        ; both forms tried
  StrCpy $1 ' "$7'               ; second form: "/NAME
  StrLen $4 $1
  StrCpy $2 0
  Goto search
value:
  StrCmp $1 ' "$7' quoted_value  ; "/NAME=value": up to the closing quote
  StrCpy $3 $0 1 $2
  StrCmp $3 '"' quoted
  StrCpy $3 $2
unquoted:
  StrCpy $6 $0 2 $2
  StrCmp $6 " /" unquoted_end
  StrCpy $6 $0 3 $2
  StrCmp $6 ' "/' unquoted_end
  IntCmp $2 $5 unquoted_end 0 unquoted_end
  IntOp $2 $2 + 1
  Goto unquoted
unquoted_end:
  IntOp $2 $2 - $3
  StrCpy $6 $0 $2 $3
trim:
  StrCpy $3 $6 1 -1
  StrCmp $3 " " 0 present
  StrCpy $6 $6 -1
  Goto trim
quoted:
  IntOp $2 $2 + 1
quoted_value:
  StrCpy $3 $2
quoted_next:
  IntCmp $2 $5 quoted_end 0 quoted_end
  StrCpy $6 $0 1 $2
  StrCmp $6 '"' quoted_end
  IntOp $2 $2 + 1
  Goto quoted_next
quoted_end:
  IntOp $2 $2 - $3
  StrCpy $6 $0 $2 $3
present:
  StrCpy $1 $6
  Pop $7
  Pop $6
  Pop $5
  Pop $4
  Pop $3
  Pop $2
  Pop $0
  Exch $1
  ClearErrors
  Return
absent:
  Pop $7
  Pop $6
  Pop $5
  Pop $4
  Pop $3
  Pop $2
  Pop $0
  StrCpy $1 ""
  Exch $1
  SetErrors
FunctionEnd
!macroend
!insertmacro GETOPT_FUNC ""
!insertmacro GETOPT_FUNC "un."

!macro GETOPT params name out
  Push `${params}`
  Push `${name}`
  Call GetOpt
  Pop ${out}
!macroend
!macro UN_GETOPT params name out
  Push `${params}`
  Push `${name}`
  Call un.GetOpt
  Pop ${out}
!macroend

; OpenLog opens (appending) the log named on the stack and writes the
; header line.
!macro OPENLOG_FUNC un
Function ${un}OpenLog
  Exch $0
  Push $1
  Push $2
  Push $3
  Push $4
  Push $5
  Push $6
  ClearErrors
  FileOpen $Log $0 a
  ${If} ${Errors}
    ; Without a log the run still goes on; the details view has the lines.
    StrCpy $Log ""
  ${Else}
    FileSeek $Log 0 END
  ${EndIf}
  ${GetTime} "" "L" $0 $1 $2 $3 $4 $5 $6
  !insertmacro LOG "---- $2-$1-$0 $4:$5:$6 ${APPNAME} ${VERSION}: $CMDLINE"
  Pop $6
  Pop $5
  Pop $4
  Pop $3
  Pop $2
  Pop $1
  Pop $0
FunctionEnd
!macroend
!insertmacro OPENLOG_FUNC ""
!insertmacro OPENLOG_FUNC "un."

; ---- installer ----------------------------------------------------------------

; UsageError logs the message on the stack and quits with status 2.
Function UsageError
  Exch $0
  !insertmacro LOG "usage error: $0"
  FileClose $Log
  IfSilent +2
  MessageBox MB_ICONSTOP "$0"
  SetErrorLevel 2
  Quit
FunctionEnd

; CheckURL: the URL on the stack must be http(s) and need no escaping in JSON.
Function CheckURL
  Exch $0
  Push $1
  Push $2
  StrCpy $1 $0 7
  StrCpy $2 $0 8
  ${If} $1 != "http://"
  ${AndIf} $2 != "https://"
    Push "not an http:// or https:// URL: $0"
    Call UsageError
  ${EndIf}
  StrCpy $1 0
  ${Do}
    StrCpy $2 $0 1 $1
    ${If} $2 == ""
      ${Break}
    ${EndIf}
    ${If} $2 == '"'
    ${OrIf} $2 == "\"
    ${OrIf} $2 == " "
      Push "a URL must not contain quotes, backslashes or spaces: $0"
      Call UsageError
    ${EndIf}
    IntOp $1 $1 + 1
  ${Loop}
  Pop $2
  Pop $1
  Pop $0
FunctionEnd

; CheckKey: the key on the stack must be the standard base64 of a 32-byte
; Ed25519 public key: 43 characters of the base64 alphabet and one "=".
; NSIS compares case-insensitively, which is right here: both cases of every
; letter are base64.
Function CheckKey
  Exch $0
  Push $1
  Push $2
  Push $3
  Push $4
  StrLen $1 $0
  StrCpy $2 $0 1 43
  ${If} $1 != 44
  ${OrIf} $2 != "="
    Push "/SERVERKEY must be the base64 of the vendor's 32-byte Ed25519 public key (44 characters): $0"
    Call UsageError
  ${EndIf}
  StrCpy $1 0
  ${Do}
    StrCpy $2 $0 1 $1
    StrCpy $3 0
    ${Do}
      StrCpy $4 "abcdefghijklmnopqrstuvwxyz0123456789+/" 1 $3
      ${If} $4 == ""
        Push "/SERVERKEY must be the base64 of the vendor's Ed25519 public key: $0"
        Call UsageError
      ${EndIf}
      ${If} $4 == $2
        ${Break}
      ${EndIf}
      IntOp $3 $3 + 1
    ${Loop}
    IntOp $1 $1 + 1
  ${LoopUntil} $1 >= 43
  Pop $4
  Pop $3
  Pop $2
  Pop $1
  Pop $0
FunctionEnd

Function .onInit
  SetShellVarContext all
  Push "$TEMP\iscdesk-install.log"
  Call OpenLog
  ${GetParameters} $R0
  ; NSIS reads /D= only unquoted; a tool that quotes each argument holding a
  ; space ("/D=C:\a b") would otherwise install to the default folder.
  !insertmacro GETOPT $R0 "/D=" $R1
  ${IfNot} ${Errors}
    StrCpy $INSTDIR $R1
  ${EndIf}
  StrCpy $Shortcuts 1
  !insertmacro GETOPT $R0 "/NOSHORTCUTS" $R1
  ${IfNot} ${Errors}
    StrCpy $Shortcuts 0
  ${EndIf}
  !insertmacro GETOPT $R0 "/ENDPOINT=" $R1
  ${IfNot} ${Errors}
    Push "/ENDPOINT is gone: the client talks to the vendor's license server now (/SERVER=URL /SERVERKEY=KEY)"
    Call UsageError
  ${EndIf}
  StrCpy $ServerSet 0
  !insertmacro GETOPT $R0 "/SERVER=" $Server
  ${IfNot} ${Errors}
    StrCpy $ServerSet 1
    Push $Server
    Call CheckURL
    ; Plain http only to this machine, as the client requires.
    StrCpy $R1 $Server 8
    StrCpy $R2 $Server 11
    StrCpy $R3 $Server 16
    StrCpy $R4 $Server 12
    ${If} $R1 != "https://"
    ${AndIf} $R2 != "http://127."
    ${AndIf} $R3 != "http://localhost"
    ${AndIf} $R4 != "http://[::1]"
      Push "/SERVER must be https:// (plain http:// only to this machine): $Server"
      Call UsageError
    ${EndIf}
  ${EndIf}
  StrCpy $ServerKeySet 0
  !insertmacro GETOPT $R0 "/SERVERKEY=" $ServerKey
  ${IfNot} ${Errors}
    StrCpy $ServerKeySet 1
    Push $ServerKey
    Call CheckKey
  ${EndIf}
  StrCpy $ProxySet 0
  !insertmacro GETOPT $R0 "/PROXY=" $Proxy
  ${IfNot} ${Errors}
    StrCpy $ProxySet 1
    Push $Proxy
    Call CheckURL
  ${EndIf}
  StrCpy $GraceSet 0
  !insertmacro GETOPT $R0 "/GRACEDAYS=" $Grace
  ${IfNot} ${Errors}
    StrCpy $GraceSet 1
    ; Whole days, 0..365. Once leading zeros are gone the text must read
    ; back the same as a number: that refuses signs, hex, letters, spaces
    ; (and a leading zero would make IntOp read octal).
    ${Do}
      StrCpy $R4 $Grace 1
      StrLen $R2 $Grace
      ${If} $R4 != "0"
      ${OrIf} $R2 <= 1
        ${Break}
      ${EndIf}
      StrCpy $Grace $Grace "" 1
    ${Loop}
    IntOp $R3 $Grace + 0
    ${If} "$R3" != "$Grace"
    ${OrIf} $R3 < 0
    ${OrIf} $R3 > 365
      Push "/GRACEDAYS must be a whole number of days, 0..365: $Grace"
      Call UsageError
    ${EndIf}
    StrCpy $Grace $R3
  ${EndIf}
FunctionEnd

; Place moves $0 (staged) over $1 (live). MoveFileEx with REPLACE_EXISTING
; is a rename on one volume: the live file is the old or the new one, never a
; mix. A running program cannot be replaced but can be renamed: it is moved
; aside first and deleted at the next reboot.
Function Place
  Push $2
  Push $3
  Push $4
  System::Call 'kernel32::MoveFileExW(w r0, w r1, i 0x9) i .r2 ?e'  ; REPLACE_EXISTING | WRITE_THROUGH
  Pop $3
  ${If} $2 == 0
    System::Call 'kernel32::GetTickCount() i .r4'
    Rename "$1" "$1.old-$4"
    System::Call 'kernel32::MoveFileExW(w r0, w r1, i 0x9) i .r2 ?e'
    Pop $3
    Delete /REBOOTOK "$1.old-$4"
  ${EndIf}
  ${If} $2 == 0
    !insertmacro LOG "FAILED: cannot move $0 to $1 (Windows error $3)"
    FileClose $Log
    SetErrorLevel 1
    Abort "cannot install $1"
  ${EndIf}
  !insertmacro LOG "installed $1"
  Pop $4
  Pop $3
  Pop $2
FunctionEnd

; SetConfigSecurity gives the file or folder on the stack the security of
; CONFIGSDDL, owner and access list in one call (SetNamedSecurityInfo, which
; also passes the inherited entries on to the files inside a folder), and
; leaves the Windows error on the stack: 0 when done.
Function SetConfigSecurity
  Exch $0
  Push $1
  Push $2
  Push $3
  Push $4
  Push $5
  Push $6
  StrCpy $3 "${CONFIGSDDL}"
  StrCpy $1 0
  StrCpy $5 1                     ; ERROR_INVALID_FUNCTION until it is done
  System::Call 'advapi32::ConvertStringSecurityDescriptorToSecurityDescriptorW(w r3, i 1, *p .r1, p 0) i .r2'
  ${If} $2 <> 0
    System::Call 'advapi32::GetSecurityDescriptorOwner(p r1, *p .r3, *i .r6) i .r2'
    System::Call 'advapi32::GetSecurityDescriptorDacl(p r1, *i .r6, *p .r4, *i .r6) i .r2'
    ; OWNER | DACL | PROTECTED_DACL
    System::Call 'advapi32::SetNamedSecurityInfoW(w r0, i 1, i 0x80000005, p r3, p 0, p r4, p 0) i .r5'
    System::Call 'kernel32::LocalFree(p r1)'
  ${EndIf}
  StrCpy $0 $5
  Pop $6
  Pop $5
  Pop $4
  Pop $3
  Pop $2
  Pop $1
  Exch $0
FunctionEnd

; SecureConfigDir makes $APPDATA\iscdesk (%ProgramData%\iscdesk here) a folder
; of the administrators' with CONFIGSDDL, whoever made it: a link (junction,
; symbolic link) or a file in its place is removed, not followed. A folder a
; user made may refuse the administrators the change: takeown.exe (which
; uses the administrators' privilege) makes it theirs and it is tried again.
; The install fails rather than go on with a folder users could write.
Function SecureConfigDir
  Push $0
  Push $1
  Push $2
  Push $3
  StrCpy $0 "$APPDATA\iscdesk"
  System::Call 'kernel32::GetFileAttributesW(w r0) i .r1'
  ${If} $1 <> -1
    IntOp $2 $1 & 0x400           ; FILE_ATTRIBUTE_REPARSE_POINT
    IntOp $3 $1 & 0x10            ; FILE_ATTRIBUTE_DIRECTORY
    ${If} $2 <> 0
    ${AndIf} $3 <> 0
      System::Call 'kernel32::RemoveDirectoryW(w r0) i .r2'  ; the link only
      !insertmacro LOG "removed the link $0 (attributes $1)"
    ${ElseIf} $3 == 0
      System::Call 'kernel32::DeleteFileW(w r0) i .r2'
      !insertmacro LOG "removed the file $0, which stood where the folder goes"
    ${EndIf}
  ${EndIf}
  CreateDirectory $0
  Push $0
  Call SetConfigSecurity
  Pop $1
  ${If} $1 <> 0
    !insertmacro LOG "cannot set the permissions of $0 (Windows error $1): taking ownership"
    nsExec::ExecToStack '"$SYSDIR\takeown.exe" /F "$0" /A'
    Pop $2
    Pop $3
    !insertmacro LOG "takeown /F $0 /A: exit $2: $3"
    Push $0
    Call SetConfigSecurity
    Pop $1
  ${EndIf}
  ${If} $1 <> 0
    !insertmacro LOG "FAILED: cannot make $0 the administrators' (Windows error $1)"
    FileClose $Log
    SetErrorLevel 1
    Abort "cannot secure $0"
  ${EndIf}
  !insertmacro LOG "secured $0: owner Administrators, full control for SYSTEM and Administrators, read for Users"
  Pop $3
  Pop $2
  Pop $1
  Pop $0
FunctionEnd

Section "iscdesk"
  SetShellVarContext all
  !insertmacro LOG "installing into $INSTDIR (shortcuts: $Shortcuts)"
  ; A staging folder left by an interrupted run may hold a partial copy.
  RMDir /r "$INSTDIR\.staging"
  ClearErrors
  CreateDirectory "$INSTDIR\.staging"
  ${If} ${Errors}
    !insertmacro LOG "FAILED: cannot create $INSTDIR\.staging"
    FileClose $Log
    SetErrorLevel 1
    Abort
  ${EndIf}
  SetOutPath "$INSTDIR\.staging"
  File "/oname=iscdesk.exe" "${EXE}"
  File "/oname=iscdesk-desktop.exe" "${DESKTOPEXE}"
  WriteUninstaller "$INSTDIR\.staging\uninstall.exe"
  !insertmacro LOG "staged in $INSTDIR\.staging"

  ; The configuration folder, the administrators' whether settings are
  ; given or not, so that no user can plant a file there later.
  Call SecureConfigDir
  WriteRegStr HKLM "${UNINSTKEY}" "ConfigDir" "$APPDATA\iscdesk"
  ; The configuration: a new file written next to its final name, then
  ; renamed over it. A file left there (by anyone) is deleted first, never
  ; reused: rewriting it would keep its owner and permissions.
  ${If} $ServerSet == 1
  ${OrIf} $ServerKeySet == 1
  ${OrIf} $ProxySet == 1
  ${OrIf} $GraceSet == 1
    Delete "$APPDATA\iscdesk\config.json.new"
    ${If} ${FileExists} "$APPDATA\iscdesk\config.json.new"
      !insertmacro LOG "FAILED: cannot delete $APPDATA\iscdesk\config.json.new, left there before"
      FileClose $Log
      SetErrorLevel 1
      Abort
    ${EndIf}
    ClearErrors
    FileOpen $R2 "$APPDATA\iscdesk\config.json.new" w
    ${If} ${Errors}
      !insertmacro LOG "FAILED: cannot write $APPDATA\iscdesk\config.json.new"
      FileClose $Log
      SetErrorLevel 1
      Abort
    ${EndIf}
    FileWrite $R2 "{"
    StrCpy $R3 ""
    ${If} $ServerSet == 1
      FileWrite $R2 '$R3$\r$\n  "server": "$Server"'
      StrCpy $R3 ","
    ${EndIf}
    ${If} $ServerKeySet == 1
      FileWrite $R2 '$R3$\r$\n  "server_key": "$ServerKey"'
      StrCpy $R3 ","
    ${EndIf}
    ${If} $ProxySet == 1
      FileWrite $R2 '$R3$\r$\n  "proxy": "$Proxy"'
      StrCpy $R3 ","
    ${EndIf}
    ${If} $GraceSet == 1
      FileWrite $R2 '$R3$\r$\n  "grace_days": $Grace'
    ${EndIf}
    FileWrite $R2 "$\r$\n}$\r$\n"
    FileClose $R2
    ; Its own security, not left to inheritance or to the default owner of
    ; this process's files.
    Push "$APPDATA\iscdesk\config.json.new"
    Call SetConfigSecurity
    Pop $R4
    ${If} $R4 <> 0
      !insertmacro LOG "FAILED: cannot set the permissions of $APPDATA\iscdesk\config.json.new (Windows error $R4)"
      FileClose $Log
      SetErrorLevel 1
      Abort
    ${EndIf}
    StrCpy $0 "$APPDATA\iscdesk\config.json.new"
    StrCpy $1 "$APPDATA\iscdesk\config.json"
    Call Place
    WriteRegStr HKLM "${UNINSTKEY}" "ConfigFile" "$APPDATA\iscdesk\config.json"
  ${EndIf}

  StrCpy $0 "$INSTDIR\.staging\iscdesk.exe"
  StrCpy $1 "$INSTDIR\iscdesk.exe"
  Call Place
  StrCpy $0 "$INSTDIR\.staging\iscdesk-desktop.exe"
  StrCpy $1 "$INSTDIR\iscdesk-desktop.exe"
  Call Place
  StrCpy $0 "$INSTDIR\.staging\uninstall.exe"
  StrCpy $1 "$INSTDIR\uninstall.exe"
  Call Place
  SetOutPath "$INSTDIR"
  ; The emptied staging folder may be held for a moment (a scanner, the
  ; loader): retry, and leave it to the next run if it stays.
  StrCpy $R9 0
  ${Do}
    RMDir /r "$INSTDIR\.staging"
    ${IfNot} ${FileExists} "$INSTDIR\.staging\*.*"
      ${Break}
    ${EndIf}
    IntOp $R9 $R9 + 1
    ${If} $R9 >= 50
      !insertmacro LOG "warning: cannot remove $INSTDIR\.staging yet (the next install or the uninstall will)"
      ${Break}
    ${EndIf}
    Sleep 100
  ${Loop}

  ${If} $Shortcuts == 1
    ; The window itself: iscdesk.exe, a console program, would flash a
    ; console before handing over to it.
    CreateShortcut "$SMPROGRAMS\${APPNAME}.lnk" "$INSTDIR\iscdesk-desktop.exe"
    !insertmacro LOG "created the shortcut $SMPROGRAMS\${APPNAME}.lnk"
  ${Else}
    ; An earlier install's shortcut is not wanted any more.
    Delete "$SMPROGRAMS\${APPNAME}.lnk"
  ${EndIf}

  ; Add/Remove Programs, written last: it appears once the install is whole.
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayName" "${APPNAME}"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTKEY}" "Publisher" "iscdesk"
  WriteRegStr HKLM "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\iscdesk-desktop.exe"
  WriteRegStr HKLM "${UNINSTKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoRepair" 1
  WriteRegDWORD HKLM "${UNINSTKEY}" "Shortcuts" $Shortcuts
  ${GetSize} "$INSTDIR" "/S=0K" $R0 $R1 $R2
  WriteRegDWORD HKLM "${UNINSTKEY}" "EstimatedSize" $R0
  !insertmacro LOG "install complete: ${APPNAME} ${VERSION} in $INSTDIR"
  FileClose $Log
SectionEnd

; ---- uninstaller ------------------------------------------------------------------

; un.Remove deletes the file on the stack and counts a failure when it stays.
Function un.Remove
  Exch $0
  ${If} ${FileExists} "$0"
    ClearErrors
    Delete "$0"
    ${If} ${FileExists} "$0"
      IntOp $Failures $Failures + 1
      !insertmacro LOG "FAILED: cannot remove $0"
    ${Else}
      !insertmacro LOG "removed $0"
    ${EndIf}
  ${EndIf}
  Pop $0
FunctionEnd

; un.PurgeFallback removes the encrypted-file store in the folder on the
; stack (a user's %AppData%\iscdesk).
Function un.PurgeFallback
  Exch $0
  Push "$0\authorization.sealed"
  Call un.Remove
  Push "$0\install.secret"
  Call un.Remove
  RMDir "$0"
  Pop $0
FunctionEnd

Function un.onInit
  SetShellVarContext all
  Push "$TEMP\iscdesk-uninstall.log"
  Call un.OpenLog
  ${GetParameters} $R0
  StrCpy $Purge 0
  !insertmacro UN_GETOPT $R0 "/PURGE" $R1
  ${IfNot} ${Errors}
    StrCpy $Purge 1
  ${EndIf}
FunctionEnd

Section "Uninstall"
  StrCpy $Failures 0
  !insertmacro LOG "uninstalling from $INSTDIR (purge: $Purge)"

  ${If} $Purge == 1
    ; `forget` needs the binary: it runs before the files go. It removes
    ; the cached authorization of the user running the uninstall.
    ${If} ${FileExists} "$INSTDIR\iscdesk.exe"
      nsExec::ExecToStack '"$INSTDIR\iscdesk.exe" forget'
      Pop $R1
      Pop $R2
      ${If} $R1 == 0
        !insertmacro LOG "iscdesk forget: $R2"
      ${Else}
        IntOp $Failures $Failures + 1
        !insertmacro LOG "FAILED: iscdesk forget ($R1): $R2"
      ${EndIf}
    ${EndIf}
    ; The encrypted-file fallback of every profile (other users' Credential
    ; Manager entries are out of reach: each user runs `iscdesk forget`).
    StrCpy $R3 0
    ${Do}
      EnumRegKey $R4 HKLM "Software\Microsoft\Windows NT\CurrentVersion\ProfileList" $R3
      ${If} $R4 == ""
        ${Break}
      ${EndIf}
      ReadRegStr $R5 HKLM "Software\Microsoft\Windows NT\CurrentVersion\ProfileList\$R4" "ProfileImagePath"
      ExpandEnvStrings $R5 $R5
      ${If} $R5 != ""
        Push "$R5\AppData\Roaming\iscdesk"
        Call un.PurgeFallback
      ${EndIf}
      IntOp $R3 $R3 + 1
    ${Loop}
    SetShellVarContext current
    Push "$APPDATA\iscdesk"
    Call un.PurgeFallback
    SetShellVarContext all
  ${EndIf}

  Push "$INSTDIR\iscdesk.exe"
  Call un.Remove
  Push "$INSTDIR\iscdesk-desktop.exe"
  Call un.Remove
  Push "$SMPROGRAMS\${APPNAME}.lnk"
  Call un.Remove
  ReadRegStr $R0 HKLM "${UNINSTKEY}" "ConfigFile"
  ${If} $R0 != ""
    Push $R0
    Call un.Remove
    Push "$R0.new"
    Call un.Remove
    ${GetParent} $R0 $R1
    RMDir $R1
  ${EndIf}
  ; The folder every install makes, once empty.
  ReadRegStr $R0 HKLM "${UNINSTKEY}" "ConfigDir"
  ${If} $R0 != ""
    RMDir $R0
  ${EndIf}
  RMDir /r "$INSTDIR\.staging"

  ${If} $Failures == 0
    ; Run from its %TEMP% copy (the usual case), uninstall.exe goes now;
    ; run in place (_?=), at the next reboot.
    Delete /REBOOTOK "$INSTDIR\uninstall.exe"
    !insertmacro LOG "removed $INSTDIR\uninstall.exe (or scheduled for the next reboot)"
    ; Only when empty: files someone else put there stay.
    RMDir /REBOOTOK "$INSTDIR"
    DeleteRegKey HKLM "${UNINSTKEY}"
    !insertmacro LOG "uninstall complete"
  ${Else}
    ; uninstall.exe and the Add/Remove Programs entry stay so that the
    ; uninstall can be run again once the cause is fixed.
    !insertmacro LOG "uninstall finished with $Failures failed step(s); see the FAILED lines above"
    SetErrorLevel 1
  ${EndIf}
  FileClose $Log
SectionEnd
