#!/usr/bin/env bash
# Build the Linux bundle dist/cachescope/ from a clean virtual environment, add the desktop entry,
# AppStream metadata and hicolor icons, validate them, run the smoke test inside the frozen bundle
# (offscreen, no network where unshare allows, no keyring) and print the size and build time.
#
#   bash packaging/build.sh            # needs python3 (3.11+), desktop-file-utils, appstream
set -euo pipefail

APP_ID=io.github.cachescope.Cachescope
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work="$root/build/bundle"
dist="$root/dist"
bundle="$dist/cachescope"
started=$(date +%s)

for tool in desktop-file-validate appstreamcli; do
    command -v "$tool" >/dev/null || {
        echo "build.sh: $tool is missing (Debian: apt install desktop-file-utils appstream)" >&2
        exit 1
    }
done

echo "== clean virtual environment"
rm -rf "$work" "$bundle"
python3 -m venv "$work/venv"
# From the lock of tested versions (docs/dependencies.md), then the app itself without its ranges.
"$work/venv/bin/pip" install -q -r "$root/requirements/bundle.txt"
"$work/venv/bin/pip" install -q --no-deps --no-build-isolation "$root"

echo "== PyInstaller (onedir)"
"$work/venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$dist" --workpath "$work/pyinstaller" "$here/cachescope.spec"
# Qt's translations: the app ships none of its own and speaks English.
rm -rf "$bundle/_internal/PySide6/Qt/translations"

echo "== desktop integration (share/ inside the bundle; copy to ~/.local/share or /usr/share)"
share="$bundle/share"
install -Dm644 "$here/$APP_ID.desktop" "$share/applications/$APP_ID.desktop"
install -Dm644 "$here/$APP_ID.metainfo.xml" "$share/metainfo/$APP_ID.metainfo.xml"
"$work/venv/bin/python" "$here/make_icons.py" "$root/resources/icons/cachescope.svg" \
    "$share/icons/hicolor" "$APP_ID"
desktop-file-validate "$share/applications/$APP_ID.desktop"
appstreamcli validate --no-net "$share/metainfo/$APP_ID.metainfo.xml"

echo "== smoke test in the frozen bundle"
data=$(mktemp -d)
trap 'rm -rf "$data"' EXIT
run=(env -u ANTHROPIC_API_KEY -u ANTHROPIC_BASE_URL QT_QPA_PLATFORM=offscreen
     PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring CACHESCOPE_DATA_DIR="$data"
     "$bundle/cachescope" --smoke-test)
if unshare -rn true 2>/dev/null; then
    echo "(no network: run in a new network namespace with loopback only)"
    unshare -rn sh -c 'ip link set lo up 2>/dev/null || true; exec "$@"' sh "${run[@]}"
else
    echo "(unshare is not allowed here: the smoke test runs with the network present)"
    "${run[@]}"
fi

echo "== a PDF attached in the frozen bundle (its reader runs in a process of its own)"
"$work/venv/bin/python" -c "
import sys
from pypdf import PdfWriter
writer = PdfWriter()
for _ in range(3):
    writer.add_blank_page(612, 792)
writer.write(sys.argv[1])" "$data/three-pages.pdf"
attach=("${run[@]}" --attach "$data/three-pages.pdf")
attached=$("${attach[@]}" | tail -1)
echo "$attached"
case "$attached" in
    *'"kind": "pdf"'*'"pages": 3'*) ;;
    *) echo "build.sh: the frozen bundle did not attach the PDF" >&2; exit 1 ;;
esac

size=$(du -sm "$bundle" | cut -f1)
echo "== bundle: $bundle, ${size} MB, built in $(( $(date +%s) - started )) s"
