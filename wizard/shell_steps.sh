# The POSIX sh library of ami-wizard's step scripts (loaded by wizard/shell_steps.py; this
# header, above the first section marker, is never sent). Each "#@ NAME" line starts a section
# that shell_steps.py reads as one string; a section's text is sent to the target exactly as
# written here. Arguments are always data ("$1"...), never code.
#
# functions: shared by every step script. Every function that changes a file first enters the
#   file's directory with `aw_here` (component by component, refusing symlinks, then checking
#   `pwd -P`), and acts on "./NAME" from there: a directory swapped for a symlink after the
#   probe cannot redirect it. Destructive ones also prove with `aw_verify` that the file is
#   the one probed (device, inode, size, owner; "-" when the probe did not know), in the same
#   function. ACCOUNT_BACKUPS is replaced by wizard.actions.ACCOUNT_BACKUPS when loaded.
# reload: reload sshd the way this system does it: systemd when it runs, else HUP the
#   PidFile, else the init script. In the test instance systemd is absent and sshd writes
#   its PidFile.
# read: a path below a symlinked directory reads as "linked": its content (possibly a file
#   the link leads to, such as /etc/ssl/private/...) must not reach the journal.
# shellcheck shell=sh
#@ functions
set -u
umask 077
unset CDPATH
aw_uid=$(id -u)
aw_tmp=
# A step killed half-way must not leave its temp file in the image.
aw_cleanup() { [ -z "$aw_tmp" ] || rm -f -- "$aw_tmp"; aw_tmp=; }
trap aw_cleanup EXIT
trap 'aw_cleanup; exit 129' HUP
trap 'aw_cleanup; exit 130' INT
trap 'aw_cleanup; exit 141' PIPE
trap 'aw_cleanup; exit 143' TERM
aw_err() { printf 'ami-wizard: %s\n' "$*" >&2; }
aw_sync() { sync -- "$1" 2>/dev/null || sync; }
aw_stale() { # DIR: temp files of ours (exact mktemp pattern, our uid, older than a minute)
  # that a killed earlier run left in DIR
  [ -d "$1" ] && [ ! -L "$1" ] || return 0
  find "$1" -maxdepth 1 \( -type f -o -type l \) -user "$aw_uid" -mmin +1 \
    -name '.ami-wizard.[A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9]' \
    -exec rm -f -- {} \; 2>/dev/null
  return 0
}
aw_here() { # PATH: cd into PATH's directory refusing symlinks; sets aw_b (the last name).
  # 0 = there, 2 = a directory on the way does not exist, 1 = refused
  case $1 in /*) ;; *) aw_err "refusing $1: not an absolute path"; return 1 ;; esac
  aw_d=${1%/*}
  aw_b=${1##*/}
  case $1/ in
    */./* | */../* | *//*) aw_err "refusing $1: not a plain path"; return 1 ;;
  esac
  [ -n "$aw_b" ] || { aw_err "refusing $1: no file name"; return 1; }
  cd -P / || return 1
  aw_rest=${aw_d#/}
  while [ -n "$aw_rest" ]; do
    aw_c=${aw_rest%%/*}
    case $aw_rest in */*) aw_rest=${aw_rest#*/} ;; *) aw_rest= ;; esac
    if [ -L "./$aw_c" ]; then
      aw_err "refusing $1: ${PWD%/}/$aw_c is a symlink"
      return 1
    fi
    [ -d "./$aw_c" ] || return 2
    cd -P "./$aw_c" || return 1
  done
  aw_now=$(pwd -P; echo x)
  aw_now=${aw_now%?x}
  if [ "$aw_now" != "${aw_d:-/}" ]; then
    aw_err "refusing $1: its directory is now $aw_now"
    return 1
  fi
  return 0
}
aw_mkhere() { # PATH: aw_here, making missing directories first
  aw_here "$1"
  aw_rc=$?
  [ "$aw_rc" = 2 ] || return "$aw_rc"
  mkdir -p -m 755 -- "${1%/*}" || return 1
  aw_here "$1"
}
aw_ident() { # DEV INO SIZE UID, then the actual four: compare what is known ("-": unknown)
  [ "$1" = - ] || [ "$1" = "$5" ] || return 1
  [ "$2" = - ] || [ "$2" = "$6" ] || return 1
  [ "$3" = - ] || [ "$3" = "$7" ] || return 1
  [ "$4" = - ] || [ "$4" = "$8" ] || return 1
}
aw_verify() { # PATH DEV INO SIZE UID: 0 = "./$aw_b" is the file probed (cwd: its directory),
  # 2 = nothing there any more, 3 = a symlink and nothing was expected, 1 = refused
  aw_here "$1"
  aw_rc=$?
  [ "$aw_rc" = 0 ] || return "$aw_rc"
  if [ -L "./$aw_b" ]; then
    [ "$2$3$4$5" = ---- ] && return 3
    aw_err "refusing $1: it is now a symlink"
    return 1
  fi
  [ -e "./$aw_b" ] || return 2
  aw_st=$(stat -c '%d %i %s %u' -- "./$aw_b") || return 1
  # shellcheck disable=SC2086 # four numbers, split on purpose
  if ! aw_ident "$2" "$3" "$4" "$5" $aw_st; then
    aw_err "refusing $1: it is not the file probed (device inode size uid now: $aw_st)"
    return 1
  fi
  aw_pm=$(stat -c %a .) || return 1
  case $aw_pm in
    *[2367])
      if [ "$5" = - ]; then
        aw_err "refusing $1: its directory is world-writable and its owner is unknown"
        return 1
      fi
      ;;
  esac
  return 0
}
aw_write() { # PATH MODE UID GID, base64 content on stdin
  aw_mkhere "$1" || return 1
  if [ -L "./$aw_b" ]; then aw_err "refusing to replace the symlink $1"; return 1; fi
  if [ -d "./$aw_b" ]; then aw_err "$1 is a directory"; return 1; fi
  aw_t=$(mktemp "./.ami-wizard.XXXXXX") || return 1
  aw_tmp="$aw_now/${aw_t#./}"
  if base64 -d > "$aw_t" && chown "$3:$4" "$aw_t" && chmod "$2" "$aw_t" && aw_sync "$aw_t" \
      && mv -f -- "$aw_t" "./$aw_b"; then
    aw_tmp=
    return 0
  fi
  aw_cleanup
  return 1
}
aw_sudoers() { # PATH MODE UID GID, base64 content on stdin: aw_write, but only what visudo
  # accepts, alone and then as part of sudo's whole configuration (else removed again)
  command -v visudo >/dev/null 2>&1 || { aw_err "visudo not found: $1 not written"; return 1; }
  aw_mkhere "$1" || return 1
  if [ -L "./$aw_b" ] || [ -d "./$aw_b" ]; then aw_err "refusing to replace $1"; return 1; fi
  aw_t=$(mktemp "./.ami-wizard.XXXXXX") || return 1
  aw_tmp="$aw_now/${aw_t#./}"
  if ! { base64 -d > "$aw_t" && chown "$3:$4" "$aw_t" && chmod "$2" "$aw_t" && aw_sync "$aw_t"; }; then
    aw_cleanup
    return 1
  fi
  if ! visudo -c -q -f "$aw_t" >/dev/null 2>&1; then
    aw_cleanup
    aw_err "visudo refused the new $1: not written"
    return 1
  fi
  mv -f -- "$aw_t" "./$aw_b" || { aw_cleanup; return 1; }
  aw_tmp=
  visudo -c -q >/dev/null 2>&1 && return 0
  rm -f -- "./$aw_b"
  aw_err "sudo's configuration fails its check with $1: removed again"
  return 1
}
aw_link() { # PATH TARGET
  aw_mkhere "$1" || return 1
  if [ -d "./$aw_b" ] && [ ! -L "./$aw_b" ]; then aw_err "$1 is a directory"; return 1; fi
  aw_t=$(mktemp "./.ami-wizard.XXXXXX") || return 1
  aw_tmp="$aw_now/${aw_t#./}"
  rm -f -- "$aw_t"
  # An old link is removed first: `mv` onto a link to a directory would move into it.
  if ln -s -- "$2" "$aw_t" && { [ ! -L "./$aw_b" ] || rm -f -- "./$aw_b"; } \
      && mv -f -- "$aw_t" "./$aw_b"; then
    aw_tmp=
    return 0
  fi
  aw_cleanup
  return 1
}
aw_delete() { # PATH SHRED RECURSIVE DEV INO SIZE UID
  aw_verify "$1" "$4" "$5" "$6" "$7"
  aw_rc=$?
  [ "$aw_rc" = 2 ] && return 0
  [ "$aw_rc" = 3 ] && { rm -f -- "./$aw_b"; return; } # the link itself, never its target
  [ "$aw_rc" = 0 ] || return 1
  if [ -d "./$aw_b" ]; then
    [ "$3" = 1 ] || { aw_err "$1 is a directory"; return 1; }
    rm -rf -- "./$aw_b"
    return
  fi
  if [ "$2" = 1 ] && [ -f "./$aw_b" ] && command -v shred >/dev/null 2>&1; then
    aw_shred "$1" || return 1
  fi
  rm -f -- "./$aw_b"
}
aw_shred() { # PATH: after aw_verify, overwrite "./$aw_b" through a descriptor proven to be
  # the file checked (a name swapped in between is never written through)
  exec 3< "./$aw_b" || return 1
  if [ -e /dev/fd/3 ]; then
    aw_fd=$(stat -L -c '%d %i %s %u' /dev/fd/3) || { exec 3<&-; return 1; }
    if [ "$aw_fd" != "$aw_st" ]; then
      exec 3<&-
      aw_err "refusing $1: it changed while being shredded"
      return 1
    fi
    aw_links=$(stat -L -c %h /dev/fd/3) || { exec 3<&-; return 1; }
    # A second hard link keeps the content (and may be someone else's file): then only
    # this name is removed.
    if [ "$aw_links" = 1 ]; then shred -z -- /dev/fd/3 || { exec 3<&-; return 1; }; fi
  elif [ "$(stat -c %h -- "./$aw_b")" = 1 ]; then
    shred -z -- "./$aw_b" || { exec 3<&-; return 1; }
  fi
  exec 3<&-
  # Shredding rounds the size up to a block; the device and inode stay.
  aw_now=$(stat -c '%d %i' -- "./$aw_b") || return 1
  [ "$aw_now" = "${aw_st% * *}" ] || { aw_err "refusing $1: it was replaced"; return 1; }
}
aw_move() { # SOURCE DESTINATION DEV INO SIZE UID: only onto another file system than the one
  # mounted at / (which is what becomes the image)
  if [ -e "$2" ] || [ -L "$2" ]; then aw_err "$2 exists already"; return 1; fi
  aw_dd=${2%/*}
  aw_up=$aw_dd
  while [ -n "$aw_up" ] && [ ! -e "$aw_up" ]; do aw_up=${aw_up%/*}; done
  aw_rootfs=$(stat -c %d /) || return 1
  aw_fs=$(stat -L -c %d -- "${aw_up:-/}") || return 1
  if [ "$aw_fs" = "$aw_rootfs" ]; then
    aw_err "refusing to move $1: ${aw_up:-/} is on the file system mounted at /, which becomes the image"
    return 1
  fi
  mkdir -p -m 700 -- "$aw_dd" || return 1
  aw_real=$(cd -P -- "$aw_dd" && pwd -P; echo x)
  aw_real=${aw_real%?x}
  if [ "$aw_real" != "$aw_dd" ] || [ "$(stat -c %d -- "$aw_dd")" = "$aw_rootfs" ]; then
    aw_err "refusing to move $1: $aw_dd is not a directory of another file system"
    return 1
  fi
  aw_verify "$1" "$3" "$4" "$5" "$6"
  aw_rc=$?
  [ "$aw_rc" = 2 ] && { aw_err "$1 is gone"; return 1; }
  [ "$aw_rc" = 0 ] || return 1
  [ -f "./$aw_b" ] || { aw_err "$1 is not a regular file"; return 1; }
  mv -- "./$aw_b" "$2"
}
aw_chmod() { # PATH SPEC DEV INO SIZE UID: chmod SPEC ("o-w" or "o+w") on the file or directory
  # probed, never through a symlink
  aw_verify "$1" "$3" "$4" "$5" "$6"
  aw_rc=$?
  [ "$aw_rc" = 2 ] && { aw_err "$1 is gone"; return 1; }
  [ "$aw_rc" = 3 ] && { aw_err "refusing $1: it is a symlink"; return 1; }
  [ "$aw_rc" = 0 ] || return 1
  if [ -L "./$aw_b" ] || { [ ! -f "./$aw_b" ] && [ ! -d "./$aw_b" ]; }; then
    aw_err "refusing $1: not a regular file or directory"
    return 1
  fi
  chmod "$2" "./$aw_b"
}
aw_unmove() { # SOURCE DESTINATION STOP: put a moved file back, then remove the directories
  # the move made (empty ones below STOP, the parent of the move directory)
  if [ -e "$2" ] || [ -L "$2" ]; then
    aw_here "$1" || return 1
    if [ -e "./$aw_b" ] || [ -L "./$aw_b" ]; then aw_err "$1 exists again"; return 1; fi
    mv -- "$2" "./$aw_b" || return 1
  fi
  d=$(dirname -- "$2")
  while [ "$d" != "$3" ] && [ "$d" != / ] && rmdir -- "$d" 2>/dev/null; do
    d=$(dirname -- "$d")
  done
  return 0
}
aw_backups() { # the backup copies usermod & co. write, with the entries as they were before
  for aw_f in ACCOUNT_BACKUPS; do aw_delete "$aw_f" 1 0 - - - - || return 1; done
}
aw_lock() { usermod -L "$1" && aw_backups; }
aw_unlock() { # USER WAS_EMPTY
  if [ "$2" = 1 ]; then passwd -d "$1" >/dev/null; else usermod -U "$1"; fi && aw_backups
}
# No password matches "!*": the old hash is gone, from the backup copies too.
aw_disable() { usermod -p '!*' "$1" && aw_backups; }
aw_open() { # "DEV INO": 0 when a running process holds that file open, 1 when none does;
  # refuses (2) when that cannot be told (no /proc, not root). Read once per step script.
  if [ -z "${aw_opened+x}" ]; then
    if [ "$aw_uid" != 0 ] || [ ! -d /proc/self/fd ]; then aw_opened=-; else
      aw_opened=$(find /proc/[0-9]*/fd -mindepth 1 -maxdepth 1 -exec stat -L -c '%d:%i' -- {} + 2>/dev/null)
      aw_opened=" $(printf '%s' "$aw_opened" | tr '\n' ' ') "
    fi
  fi
  [ "$aw_opened" = - ] && return 2
  case $aw_opened in *" ${1% *}:${1#* } "*) return 0 ;; esac
  return 1
}
aw_trace() { # PATH t|r DEV INO SIZE UID: truncate (t) or remove (r) a builder trace if it is
  # still the regular file probed; a file a running process holds open is never removed
  aw_verify "$1" "$3" "$4" "$5" "$6"
  aw_rc=$?
  [ "$aw_rc" = 2 ] && return 0
  [ "$aw_rc" = 0 ] || { [ "$aw_rc" = 3 ] && aw_err "refusing $1: it is a symlink"; return 1; }
  [ -f "./$aw_b" ] || { aw_err "refusing $1: not a regular file"; return 1; }
  if [ "$2" = t ]; then
    # Through a descriptor proven to be the file checked; opening /dev/fd/3 with O_TRUNC
    # truncates that same inode (never a name swapped in between).
    exec 3>> "./$aw_b" || return 1
    aw_fd=$(stat -L -c '%d %i' /dev/fd/3) || { exec 3>&-; return 1; }
    if [ "$aw_fd" != "${aw_st% * *}" ]; then
      exec 3>&-; aw_err "refusing $1: it changed while being truncated"; return 1
    fi
    # Another hard link is another name for the same content (perhaps someone else's file):
    # emptying it through this name would empty that one too.
    if [ "$(stat -L -c %h /dev/fd/3)" != 1 ]; then
      exec 3>&-; aw_err "refusing to truncate $1: it has another hard link"; return 1
    fi
    : > /dev/fd/3 || { exec 3>&-; return 1; }
    exec 3>&-
    return 0
  fi
  aw_open "${aw_st% * *}"
  case $? in
    0) aw_err "refusing to remove $1: a running process holds it open"; return 1 ;;
    2) aw_err "refusing to remove $1: cannot tell whether a running process holds it open"; return 1 ;;
  esac
  rm -f -- "./$aw_b"
}
aw_zero() { # MAX_SECONDS MAX_BYTES RESERVE_BYTES: fill the free space of / and of the local
  # file systems /etc/fstab mounts (what the image is made of) with zeros, keeping RESERVE
  # free, then remove the fill file
  aw_tab=$(awk '$1 !~ /^#/ && $2 ~ /^\// { printf " %s", $2 }' /etc/fstab 2>/dev/null)
  aw_fs=$(awk -v tab="$aw_tab " '($2 == "/" || index(tab, " " $2 " ")) && $4 ~ /(^|,)rw(,|$)/ &&
      $3 ~ /^(ext[234]|xfs|btrfs|f2fs|jfs|reiserfs|vfat)$/ { print $2 }' /proc/self/mounts) || return 1
  while IFS= read -r aw_m; do
    [ -n "$aw_m" ] || continue
    case $aw_m in *\\*) continue ;; esac  # an escaped mount point (\040): not one of ours
    [ -d "$aw_m" ] && [ ! -L "$aw_m" ] || continue
    aw_av=$(df -P -k -- "$aw_m" | awk 'NR == 2 { print $4 }') || continue
    aw_n=$((aw_av * 1024 - $3))
    [ "$aw_n" -gt "$2" ] && aw_n=$2
    [ "$aw_n" -gt 0 ] || { echo "zero $aw_m 0"; continue; }
    aw_z=$(mktemp "${aw_m%/}/.ami-wizard.XXXXXX") || continue
    aw_tmp=$aw_z
    # Whole MiB, then 4 KiB blocks up to the limit: no free block but the reserve is left.
    timeout "$1" sh -c 'dd if=/dev/zero bs=1048576 count="$1"; dd if=/dev/zero bs=4096 count="$2"' \
      sh "$((aw_n / 1048576))" "$((aw_n % 1048576 / 4096))" > "$aw_z" 2>/dev/null
    aw_sync "$aw_z"
    echo "zero $aw_m $(stat -c %s -- "$aw_z" 2>/dev/null || echo 0)"
    rm -f -- "$aw_z"
    aw_tmp=
  done <<AW_ZERO_EOF
$aw_fs
AW_ZERO_EOF
  sync
}
#@ reload
aw_reload() {
  if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl reload ssh 2>/dev/null || systemctl reload sshd
    return
  fi
  pf=$("$SSHD" -T 2>/dev/null | awk '$1 == "pidfile" { print $2; exit }')
  [ -n "$pf" ] || pf=/run/sshd.pid
  if [ -s "$pf" ]; then
    kill -HUP "$(cat -- "$pf")"
    return
  fi
  if command -v service >/dev/null 2>&1; then
    service ssh reload 2>/dev/null || service sshd reload
    return
  fi
  echo "ami-wizard: no way to reload sshd found" >&2
  return 1
}
SSHD=$(command -v sshd 2>/dev/null || echo /usr/sbin/sshd)
#@ read
while [ $# -ge 2 ]; do
  want=$1; p=$2; shift 2
  d=${p%/*}; d=${d:-/}
  if [ -d "$d" ]; then
    r=$(cd -P -- "$d" && pwd -P; echo x); r=${r%?x}
    if [ "$r" != "$d" ]; then echo linked; continue; fi
  fi
  if [ -L "$p" ]; then
    printf 'link %s\n' "$(readlink -- "$p" | base64 | tr -d '\n')"
  elif [ -f "$p" ]; then
    s=$(stat -c '%a %u %g' -- "$p") || { echo other; continue; }
    if [ "$want" = c ]; then
      c=$(base64 < "$p" | tr -d '\n') || { echo other; continue; }
      printf 'file %s %s\n' "$s" "${c:--}"
    else
      printf 'file %s -\n' "$s"
    fi
  elif [ -d "$p" ]; then echo dir
  elif [ -e "$p" ]; then echo other
  else echo absent
  fi
done
