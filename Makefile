# imfilter: build, deps, check, demo, bench, install, clean.

# ---- settings -------------------------------------------------------------
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man/man1
DATADIR  ?= $(PREFIX)/share/imfilter
CC       ?= cc
CFLAGS   ?= -O2 -g
WARN      = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wformat=2 -Wvla -Wundef
PKGS      = libpng libjpeg fftw3f openblas
PYTHON    = /usr/bin/python3
VERSION   = 0.1.0

# Debian packages that the build and the tests need (make deps).
DEB_BUILD = make gcc libc6-dev pkg-config libpng-dev libjpeg62-turbo-dev \
            libfftw3-dev libopenblas-dev
DEB_TEST  = python3 python3-numpy python3-scipy valgrind groff-base

# ---- derived ----------------------------------------------------------------
# The libraries are looked up once; when one is missing (a fresh machine),
# the main targets install them first (see "deps" below).
DEPS_OK := $(shell pkg-config --exists $(PKGS) 2>/dev/null && \
             $(PYTHON) -c 'import numpy, scipy' 2>/dev/null && \
             command -v valgrind >/dev/null && command -v groff >/dev/null && echo yes)
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L $(WARN) $(CFLAGS) $(PKG_CFLAGS) \
             -MMD -MP -DIMF_VERSION='"$(VERSION)"' -DKERNEL_DATADIR='"$(DATADIR)/kernels"'
ALL_LDFLAGS = $(LDFLAGS) -Wl,--as-needed
LIBS = $(PKG_LIBS) -lfftw3f_threads -lpthread -lm

SRC      = $(wildcard src/*.c)
OBJ      = $(SRC:src/%.c=build/%.o)
LIBOBJ   = $(filter-out build/main.o,$(OBJ))
UNIT_SRC = $(wildcard tests/unit_*.c)
UNIT_BIN = $(UNIT_SRC:tests/%.c=build/tests/%)

.PHONY: all deps check demo bench install uninstall clean

ifeq ($(DEPS_OK),yes)

all: imfilter

imfilter: $(OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $(OBJ) $(LIBS)

build/%.o: src/%.c | build
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build/tests/%: tests/%.c $(LIBOBJ) tests/check.h | build/tests
	$(CC) $(ALL_CFLAGS) -Isrc -o $@ $< $(LIBOBJ) $(ALL_LDFLAGS) $(LIBS)

build build/tests:
	mkdir -p $@

# make check: every test; the last line is "N passed, N failed".
check: imfilter $(UNIT_BIN)
	@sh tests/run.sh $(UNIT_BIN)

# make demo: every sample through several kernels into out/.
demo: imfilter
	@sh samples/demo.sh out

bench: imfilter
	@sh bench/run.sh

install: imfilter
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(DATADIR)/kernels
	install -m 755 imfilter $(DESTDIR)$(BINDIR)/imfilter
	install -m 644 man/imfilter.1 $(DESTDIR)$(MANDIR)/imfilter.1
	install -m 644 kernels/*.kernel $(DESTDIR)$(DATADIR)/kernels/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/imfilter $(DESTDIR)$(MANDIR)/imfilter.1
	rm -rf $(DESTDIR)$(DATADIR)

-include $(OBJ:.o=.d) $(UNIT_BIN:=.d)

else

# A library or test tool is missing: install it, then run the target again
# in a new make, which looks the libraries up afresh.
all check demo bench install imfilter:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory $@

endif

# make deps: install the Debian packages with apt-get when run as root,
# otherwise print the exact command to run.
deps:
	@if [ "$$(id -u)" = 0 ]; then \
		echo "installing: $(DEB_BUILD) $(DEB_TEST)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -q && \
		apt-get install -y -q --no-install-recommends $(DEB_BUILD) $(DEB_TEST); \
	else \
		echo "run as root:"; \
		echo "  apt-get update && apt-get install -y --no-install-recommends $(DEB_BUILD) $(DEB_TEST)"; \
		exit 1; \
	fi

clean:
	rm -rf build imfilter out
