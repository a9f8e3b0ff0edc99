# imfilter: build, deps, check, check-sanitize, fuzz, demo, bench, install, clean.

# ---- settings -------------------------------------------------------------
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man/man1
DATADIR  ?= $(PREFIX)/share/imfilter
COMPDIR  ?= $(PREFIX)/share/bash-completion/completions
CC       ?= cc
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wformat=2 -Wvla -Wundef
PKGS      = libpng libjpeg libtiff-4 fftw3f openblas zlib
PYTHON    = /usr/bin/python3
VERSION   = 0.1.0

# Debian packages that the build and the tests need (make deps).
DEB_BUILD = make gcc libc6-dev pkg-config libpng-dev libjpeg62-turbo-dev libtiff-dev \
            libfftw3-dev libopenblas-dev
DEB_TEST  = python3 python3-numpy python3-scipy python3-torch valgrind groff-base \
            clang libclang-rt-14-dev llvm time \
            libjpeg-turbo-progs imagemagick parallel locales \
            python3-opencv libvips-tools octave octave-image \
            libtiff-tools gdal-bin python3-tifffile python3-pil
# The peers make bench compares with (make bench-deps); make check's --like
# tests run them too, so DEB_TEST has them as well.
DEB_BENCH = python3-opencv libvips-tools

# The sanitizer build (make check-sanitize) and the fuzz targets (make fuzz)
# use clang: libFuzzer comes with it.
SAN_CC    = clang
SAN_FLAGS = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
            -fno-sanitize-recover=all
FUZZ_SECONDS ?= 60
FUZZ_TARGETS  = kernel inline png jpeg pnm tiff cli engines

# ---- derived ----------------------------------------------------------------
# What is installed is looked up once, in two parts: what the build needs
# (BUILD_OK) and what the tests need besides (TEST_OK).  The build targets
# (all, demo, install, bench) need only the first; check, check-sanitize and
# fuzz need both.  When a part is missing (a fresh machine), the target
# installs it first (see "deps" below): make demo installs DEB_BUILD alone.
BUILD_OK := $(shell pkg-config --exists $(PKGS) 2>/dev/null && echo yes)
TEST_OK := $(shell $(PYTHON) -c 'import numpy, scipy' 2>/dev/null && \
             test -f /usr/lib/python3/dist-packages/torch/__init__.py && \
             command -v valgrind >/dev/null && command -v groff >/dev/null && \
             command -v $(SAN_CC) >/dev/null && command -v llvm-symbolizer >/dev/null && \
             ls "$$($(SAN_CC) -print-resource-dir)"/lib/linux/libclang_rt.fuzzer-*.a \
                >/dev/null 2>&1 && \
             test -x /usr/bin/time && command -v djpeg >/dev/null && \
             test -x /usr/bin/convert && command -v parallel >/dev/null && \
             test -f /usr/share/i18n/locales/de_DE && \
             $(PYTHON) -c 'import cv2' 2>/dev/null && command -v vips >/dev/null && \
             ls -d /usr/share/octave/packages/image-* >/dev/null 2>&1 && \
             command -v tiffcp >/dev/null && command -v gdalinfo >/dev/null && \
             $(PYTHON) -c 'import tifffile, PIL' 2>/dev/null && echo yes)
TEST_GOALS = check check-sanitize fuzz fuzz-build
ifneq ($(filter $(TEST_GOALS),$(MAKECMDGOALS)),)
DEPS_OK   := $(if $(BUILD_OK),$(TEST_OK))
DEPS_GOAL  = deps
DEPS_WHAT  = a library or a test tool (python3-scipy, python3-torch, valgrind, groff, \
             clang with libFuzzer, llvm-symbolizer, /usr/bin/time, djpeg, convert, \
             parallel, locales, python3-opencv, vips, octave-image, tiffcp, gdalinfo, \
             python3-tifffile or python3-pil)
else
DEPS_OK   := $(BUILD_OK)
DEPS_GOAL  = build-deps
DEPS_WHAT  = a library (pkg-config $(PKGS))
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# OpenBLAS is not linked but opened on first use (src/blas.h says why);
# the build records the directory pkg-config names for it.
PKG_LIBS   := $(shell pkg-config --libs $(filter-out openblas,$(PKGS)) 2>/dev/null)
BLAS_LIBDIR := $(patsubst %/,%,$(shell pkg-config --variable=libdir openblas 2>/dev/null))

ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS) $(PKG_CFLAGS) \
             -MMD -MP -DIMF_VERSION='"$(VERSION)"' -DKERNEL_DATADIR='"$(DATADIR)/kernels"' \
             -DBLAS_LIBDIR='"$(BLAS_LIBDIR)"'
ALL_LDFLAGS = $(LDFLAGS) -Wl,--as-needed
LIBS = $(PKG_LIBS) -lfftw3f_threads -lpthread -ldl -lm

SRC      = $(wildcard src/*.c)
OBJ      = $(SRC:src/%.c=build/%.o)
LIBOBJ   = $(filter-out build/main.o,$(OBJ))
UNIT_SRC = $(wildcard tests/unit_*.c)
UNIT_BIN = $(UNIT_SRC:tests/%.c=build/tests/%)

# The sanitizer build: the same program and unit tests in build-san/.
SAN_OBJ    = $(SRC:src/%.c=build-san/%.o)
SAN_LIBOBJ = $(filter-out build-san/main.o,$(SAN_OBJ))
SAN_UNIT   = $(UNIT_SRC:tests/%.c=build-san/tests/%)
SAN_CFLAGS = $(filter-out $(CFLAGS),$(ALL_CFLAGS)) $(SAN_FLAGS)

# The fuzz targets: every object but main.o, instrumented for libFuzzer.
FUZZ_OBJ = $(filter-out build/fuzz/main.o,$(SRC:src/%.c=build/fuzz/%.o))
FUZZ_BIN = $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)


.PHONY: FORCE gallery all deps build-deps bench-deps check check-sanitize fuzz fuzz-build demo bench install \
	uninstall clean

ifeq ($(DEPS_OK),yes)

all: imfilter

imfilter: $(OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $(OBJ) $(LIBS)

build/%.o: src/%.c | build
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# The core table's timer (bench/core.c), linked with the program's objects.
build/bench-core: bench/core.c $(LIBOBJ) | build
	$(CC) $(ALL_CFLAGS) -Isrc -o $@ $< $(LIBOBJ) $(ALL_LDFLAGS) $(LIBS)

build/tests/%: tests/%.c $(LIBOBJ) tests/check.h | build/tests
	$(CC) $(ALL_CFLAGS) -Isrc -o $@ $< $(LIBOBJ) $(ALL_LDFLAGS) $(LIBS)

build build/tests:
	mkdir -p $@

# make check: every test; the last line is "N passed, N failed, N skipped".
check: imfilter $(UNIT_BIN)
	@sh tests/run.sh $(UNIT_BIN)

# make check-sanitize: every test again, against a build with AddressSanitizer
# and UndefinedBehaviorSanitizer (valgrind.sh is left out: valgrind cannot
# run a sanitized program).
check-sanitize: build-san/imfilter $(SAN_UNIT)
	@IMF=build-san/imfilter IMF_LOG=build-san/tests/check.log IMF_SKIP=valgrind.sh \
		ASAN_OPTIONS=abort_on_error=0:detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1 sh tests/run.sh $(SAN_UNIT)

# The library beside the program, as ./kernels is beside ./imfilter.
build-san/imfilter: $(SAN_OBJ)
	$(SAN_CC) $(SAN_FLAGS) $(ALL_LDFLAGS) -o $@ $(SAN_OBJ) $(LIBS)
	ln -sfn ../kernels build-san/kernels

build-san/%.o: src/%.c | build-san
	$(SAN_CC) $(SAN_CFLAGS) -c -o $@ $<

build-san/tests/%: tests/%.c $(SAN_LIBOBJ) tests/check.h | build-san/tests
	$(SAN_CC) $(SAN_CFLAGS) -Isrc -o $@ $< $(SAN_LIBOBJ) $(ALL_LDFLAGS) $(LIBS)

build-san build-san/tests build/fuzz:
	mkdir -p $@

# make fuzz FUZZ_SECONDS=N: builds the libFuzzer targets of tests/fuzz/ and
# runs each for N seconds on a corpus seeded from tests/fuzz/seeds,
# ../shared/testdata and files generated into build/fuzz/.
fuzz: fuzz-build imfilter
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-build: $(FUZZ_BIN)

# The objects are not intermediate files to delete after linking.
.SECONDARY: $(FUZZ_OBJ) $(SAN_OBJ)

build/fuzz/%.o: src/%.c | build/fuzz
	$(SAN_CC) $(SAN_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ) $(wildcard tests/fuzz/*.h) | build/fuzz
	$(SAN_CC) $(SAN_CFLAGS) -fsanitize=fuzzer -Isrc -o $@ $< $(FUZZ_OBJ) \
		$(ALL_LDFLAGS) $(LIBS)

# make gallery: docs/gallery.png, every library kernel and generator family
# on one sample, made by imfilter and tiled by docs/gallery.py (numpy).
gallery: imfilter
	@$(PYTHON) -c 'import numpy' 2>/dev/null || \
		{ echo "make gallery: needs python3-numpy (make deps installs it)" >&2; exit 1; }
	@$(PYTHON) docs/gallery.py ./imfilter samples/chelsea.png docs/gallery.png

# make demo: every sample through several kernels into out/.
demo: imfilter
	@sh samples/demo.sh out

# make bench: imfilter's engines and the peer tools side by side (bench/run.sh
# says what is timed and which variables shorten it).  Missing peers are
# installed first when possible; without root the bench runs without them.
bench: imfilter build/bench-core
	@command -v vips >/dev/null && $(PYTHON) -c 'import cv2' 2>/dev/null || \
		$(MAKE) --no-print-directory bench-deps || \
		echo "make bench: going on without the peers that are missing" >&2
	@sh bench/run.sh

# make install PREFIX=...: the binary, the man page, the kernel library
# (where -k NAME finds it: the path is compiled in, see build/datadir) and
# the bash completion.
install: imfilter
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(DATADIR)/kernels \
		$(DESTDIR)$(COMPDIR)
	install -m 755 imfilter $(DESTDIR)$(BINDIR)/imfilter
	install -m 644 man/imfilter.1 $(DESTDIR)$(MANDIR)/imfilter.1
	install -m 644 kernels/*.kernel $(DESTDIR)$(DATADIR)/kernels/
	install -m 644 src/completion.bash $(DESTDIR)$(COMPDIR)/imfilter

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/imfilter $(DESTDIR)$(MANDIR)/imfilter.1 \
		$(DESTDIR)$(COMPDIR)/imfilter
	rm -rf $(DESTDIR)$(DATADIR)

# The kernel directory is compiled into kernel_spec.o: rebuild it when
# PREFIX or DATADIR change (build/datadir holds the value last used).
build/kernel_spec.o: build/datadir
build/datadir: FORCE | build
	@[ "$$(cat $@ 2>/dev/null)" = "$(DATADIR)" ] || echo "$(DATADIR)" > $@
FORCE:

-include $(OBJ:.o=.d) $(UNIT_BIN:=.d) $(SAN_OBJ:.o=.d) $(SAN_UNIT:=.d) \
	$(FUZZ_OBJ:.o=.d) $(FUZZ_BIN:=.d)

else

# A library or test tool is missing: install it (make build-deps for the
# build targets, make deps for the tests), then run the target again in a
# new make, which looks everything up afresh.  If that make still finds
# something missing, it stops instead of going round again.
all check check-sanitize fuzz fuzz-build demo gallery bench install imfilter:
ifeq ($(DEPS_TRIED),yes)
	@echo "make: still missing after make $(DEPS_GOAL): $(DEPS_WHAT)" >&2; exit 1
else
	@$(MAKE) --no-print-directory $(DEPS_GOAL)
	@$(MAKE) --no-print-directory DEPS_TRIED=yes $@
endif

endif

# make build-deps: the Debian packages the build needs (DEB_BUILD); make
# deps: those and the test tools (DEB_TEST).  Both install with apt-get when
# run as root, otherwise print the exact command to run.
APT_INSTALL = if [ "$$(id -u)" = 0 ]; then \
		echo "installing: $(1)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && \
		apt-get install -y -q --no-install-recommends $(1); \
	else \
		echo "run as root:"; \
		echo "  apt-get update && apt-get install -y --no-install-recommends $(1)"; \
		exit 1; \
	fi

build-deps:
	@$(call APT_INSTALL,$(DEB_BUILD))

deps:
	@$(call APT_INSTALL,$(DEB_BUILD) $(DEB_TEST))

# make bench-deps: the peers of make bench (libvips, OpenCV), as make deps.
bench-deps:
	@$(call APT_INSTALL,$(DEB_BENCH))

clean:
	rm -rf build build-san imfilter out
