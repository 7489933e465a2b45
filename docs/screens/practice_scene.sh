#!/bin/bash
# the split screen for the README: lesson 07 step 4, the solution typed beside the app
# run as root under the kernel lock: flock /tmp/shikumi-kernel.lock bash docs/screens/practice_scene.sh
# (PY: the Python with the lab installed; SHIKUMI_HOME: a scratch home, removed first)
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd); PY=${PY:-python3}
S=shikumi-shot; T="tmux -L $S"; H=${SHIKUMI_HOME:-/tmp/shk-shot}
$T kill-server 2>/dev/null; rm -rf $H
$T new -d -s w -x 190 -y 44 "cd $REPO && env -u COLUMNS -u LINES PYTHONPATH=$REPO SHIKUMI_HOME=$H TERM=xterm-256color COLORTERM=truecolor LANG=C.UTF-8 $PY -m lab open 07; sleep 600"
sleep 4; $T send-keys -t w r; sleep 4; $T send-keys -t w 4; sleep 1; $T send-keys -t w r; sleep 1.5; $T send-keys -t w Tab Enter; sleep 4
$T send-keys -t w t; sleep 3
P=$($T list-panes -t w -F '#{pane_id}' | tail -1)
$T send-keys -t $P -l 'ls $SHIKUMI_HOME/containers/test'; $T send-keys -t $P Enter; sleep 1.5
$T send-keys -t $P -l "chroot \$SHIKUMI_HOME/containers/test /bin/sh -c 'ls /; /opt/bin/hello.sh 2; echo inside > /tmp/note.txt'"; $T send-keys -t $P Enter; sleep 5
cd $REPO && $PY docs/screens/tmux_png.py $S w $REPO/docs/screens/practice-beside.png
$T capture-pane -p -t w.0 | tail -30
$T send-keys -t w.0 q; sleep 6; $T kill-server
SHIKUMI_HOME=$H PYTHONPATH=$REPO $PY -m lab cleanup | tail -1
