# Sourced by the tool installers (fauxqs-install.sh, lambda-rie-install.sh).
# The caller defines installed DIR (true when DIR holds a complete install
# of the wanted version).

# publish NAME STAGE DEST moves a finished install from its staging folder
# into place. Tests start installers in parallel: another may have won the
# race meanwhile, in which case its install is kept and ours dropped.
publish() {
	local name=$1 stage=$2 dest=$3
	if ! installed "$stage"; then
		echo "$name: the install in $stage looks incomplete" >&2
		exit 1
	fi
	if installed "$dest"; then
		return 0
	fi
	rm -rf "$dest"
	if ! mv -T "$stage" "$dest" 2>/dev/null; then
		installed "$dest" || {
			echo "$name: could not move the install into $dest" >&2
			exit 1
		}
	fi
	echo "$name: done" >&2
}
