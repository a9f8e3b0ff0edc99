# Bash completion for imfilter, installed by "make install" into
# $(PREFIX)/share/bash-completion/completions/imfilter.  Options come from
# imfilter --help and kernel names from imfilter --list-kernels, so the
# completion always matches the installed program.
_imfilter()
{
	local cur prev words
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	-k|--kernel|--show-kernel)
		words="$("${COMP_WORDS[0]}" --list-kernels 2>/dev/null | awk '{print $1}') gaussian: box: unsharp: log: dog:"
		COMPREPLY=($(compgen -W "$words" -- "$cur"))
		compopt -o nospace 2>/dev/null
		[[ ${#COMPREPLY[@]} -eq 0 ]] && COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	-e|--engine)
		words=$("${COMP_WORDS[0]}" -e '?' 2>&1 | sed -n 's/.*(engines: \([^)]*\)).*/\1/p' | tr -d ',')
		COMPREPLY=($(compgen -W "$words" -- "$cur")); return ;;
	-b|--border)
		COMPREPLY=($(compgen -W "zero const= clamp reflect mirror wrap symmetric reflect101 edge replicate nearest circular periodic constant" -- "$cur")); return ;;
	-s|--shape)
		COMPREPLY=($(compgen -W "same full valid" -- "$cur")); return ;;
	-f|--format)
		COMPREPLY=($(compgen -W "png jpeg pnm pfm" -- "$cur")); return ;;
	-d|--depth)
		COMPREPLY=($(compgen -W "8 16" -- "$cur")); return ;;
	--alpha)
		COMPREPLY=($(compgen -W "premultiply separate" -- "$cur")); return ;;
	--like)
		COMPREPLY=($(compgen -W "matlab opencv scipy torch vips" -- "$cur")); return ;;
	-o|--output)
		COMPREPLY=($(compgen -d -- "$cur")); return ;;
	-q|--quality|-j|--threads|--scale|--bias|--offset|--max-pixels|--suffix|-c|--channels|--output-size)
		return ;;
	esac
	if [[ $cur == -* ]]; then
		words=$("${COMP_WORDS[0]}" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
		COMPREPLY=($(compgen -W "$words" -- "$cur"))
		return
	fi
	COMPREPLY=($(compgen -f -- "$cur"))
}
complete -F _imfilter imfilter
