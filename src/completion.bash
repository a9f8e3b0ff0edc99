# Bash completion for imfilter, installed by "make install" into
# $(PREFIX)/share/bash-completion/completions/imfilter.  Options come from
# imfilter --help and kernel names from imfilter --list-kernels, so the
# completion always matches the installed program.  File names go through
# mapfile and "compopt -o filenames", so names with spaces stay whole and
# are quoted on the command line.

# _imfilter_words WORDS: the words of the list WORDS that start with $cur.
_imfilter_words()
{
	mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
}

# _imfilter_files [-d]: file (or, with -d, directory) names that start with $cur.
_imfilter_files()
{
	compopt -o filenames 2>/dev/null
	mapfile -t COMPREPLY < <(compgen "${1:--f}" -- "$cur")
}

_imfilter()
{
	local cur prev words
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	-k|--kernel|--show-kernel)
		words="$("${COMP_WORDS[0]}" --list-kernels 2>/dev/null | awk '{print $1}') gaussian: box: unsharp: log: dog:"
		_imfilter_words "$words"
		# A whole kernel name gets its space; a generator waits for its numbers.
		[[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *: ]] && compopt -o nospace 2>/dev/null
		[[ ${#COMPREPLY[@]} -eq 0 ]] && _imfilter_files
		return ;;
	-e|--engine)
		words=$("${COMP_WORDS[0]}" -e '?' 2>&1 | sed -n 's/.*(engines: \([^)]*\)).*/\1/p' | tr -d ',')
		_imfilter_words "$words"; return ;;
	-b|--border)
		_imfilter_words "zero const= clamp reflect mirror wrap symmetric reflect101 edge replicate nearest circular periodic constant"
		[[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *= ]] && compopt -o nospace 2>/dev/null
		return ;;
	-s|--shape)
		_imfilter_words "same full valid"; return ;;
	-f|--format)
		_imfilter_words "png jpeg pnm pfm"; return ;;
	-d|--depth)
		_imfilter_words "8 16"; return ;;
	--alpha)
		_imfilter_words "premultiply separate"; return ;;
	--like)
		_imfilter_words "matlab opencv scipy torch vips"; return ;;
	-o|--output|--emit-matrix|--fft-wisdom)
		_imfilter_files; return ;;
	-q|--quality|-j|--threads|--scale|--bias|--offset|--max-pixels|--suffix|-c|--channels|--output-size)
		return ;;
	esac
	if [[ $cur == -* ]]; then
		words=$("${COMP_WORDS[0]}" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
		_imfilter_words "$words"
		return
	fi
	_imfilter_files
}
complete -F _imfilter imfilter
