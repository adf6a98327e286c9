# Rules for building plughost plugins; include this file from a plugin's Makefile.
#
#   all: libaudit.so libgreeter.so       # optional: without it, the first rule below is the default
#   include path/to/PluginSDK/plugin.mk
#   libaudit.so: audit.c $(PH_SDK_HEADER)
#   	$(PH_BUILD_C_PLUGIN)
#   libgreeter.so: Greeter.swift $(PH_SWIFT_SDK)
#   	$(PH_BUILD_SWIFT_PLUGIN)
#
# A plain `make` builds the including Makefile's own default goal (its first rule, before or
# after the include): nothing in this file becomes the default goal.
#
# Each plugin is written to a temporary name and renamed into place, so a
# running host never sees a half-written library (never `cp` over a loaded .so).
# Libraries are made writable by their owner only, whatever the umask: a host
# with strict permissions refuses a library others could have written.
#
# Swift plugins link the Swift SDK, compiled once into a static archive (and its module) in
# PH_SWIFT_SDK_DIR: by default `.build/plugin-sdk` in the folder make runs in (the including
# project's, never the plughost checkout). Set PH_SWIFT_SDK_DIR (before the include, or on the
# command line) to share one archive between several Makefiles, e.g.
#   PH_SWIFT_SDK_DIR := $(CURDIR)/../.build/plugin-sdk
# SWIFTC names the compiler (default `swiftc`); use the toolchain that built the host.
#
# Signing: with PLUGHOST_SIGNING_KEY set to a key file from `plughost keygen`,
# each library is signed before it is renamed into place (LIBRARY.sig beside
# it), for hosts with `require-signatures = true`. PLUGHOST names the plughost
# binary that signs (default: `plughost` on PATH).

# Rules here must not become the including Makefile's default goal: remember the goal set so far
# (empty when the include comes first) and put it back at the end. Set back to empty, make takes
# the first rule that follows the include as the default goal, as if this file had no rules.
PH_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)

PH_SDK_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
PH_SDK_INCLUDE := $(PH_SDK_DIR)/include
PH_SDK_HEADER := $(PH_SDK_INCLUDE)/plughost/plugin.h $(PH_SDK_INCLUDE)/plughost/http.h

CC ?= cc
SWIFTC ?= swiftc
# The ABI grows its structs at the end (a field a plugin leaves out is zero, which
# means "absent"): positional initializers written for an older ABI stay correct,
# so -Wextra's warning about them is off.
PLUGIN_CFLAGS ?= -O2 -g -fPIC -shared -fvisibility=hidden -Wall -Wextra -Wno-missing-field-initializers -Werror=implicit-function-declaration
PLUGIN_SWIFTFLAGS ?= -O -g
PLUGHOST ?= plughost
PLUGHOST_SIGNING_KEY ?=

# Signs $@.tmp and moves its signature to $@.sig (before the library itself is renamed into place).
# Without a key, a signature left from an earlier signed build is removed (it would not match).
# The signature is renamed into place just before the library: a reload between the two
# refuses the old library and keeps the running one serving until the new one lands.
PH_SIGN = $(if $(PLUGHOST_SIGNING_KEY),&& $(PLUGHOST) sign $@.tmp --key $(PLUGHOST_SIGNING_KEY) >/dev/null && mv $@.tmp.sig $@.sig,&& rm -f $@.sig)

# The Swift SDK is compiled once into a static archive that each Swift plugin links, in the
# including project's build folder unless PH_SWIFT_SDK_DIR says otherwise.
PH_SWIFT_SDK_DIR ?= $(CURDIR)/.build/plugin-sdk
PH_SWIFT_SDK := $(PH_SWIFT_SDK_DIR)/libPluginSDK.a
PH_SWIFT_SDK_SOURCES := $(wildcard $(PH_SDK_DIR)/Swift/*.swift)

$(PH_SWIFT_SDK): $(PH_SWIFT_SDK_SOURCES) $(PH_SDK_HEADER)
	@mkdir -p $(PH_SWIFT_SDK_DIR)
	$(SWIFTC) -parse-as-library -swift-version 6 -module-name PluginSDK $(PLUGIN_SWIFTFLAGS) \
	  -I $(PH_SDK_INCLUDE) -emit-module -emit-module-path $(PH_SWIFT_SDK_DIR)/PluginSDK.swiftmodule \
	  -emit-library -static -o $@.tmp $(PH_SWIFT_SDK_SOURCES)
	@mv $@.tmp $@

# Compile the C sources among the prerequisites into the target .so.
PH_BUILD_C_PLUGIN = @mkdir -p $(@D) && $(CC) $(PLUGIN_CFLAGS) $(PLUGIN_EXTRA_CFLAGS) -I $(PH_SDK_INCLUDE) \
	-o $@.tmp $(filter %.c,$^) && chmod go-w $@.tmp $(PH_SIGN) && mv $@.tmp $@ && echo "  built $@"

# Compile the Swift sources among the prerequisites into the target .so.
PH_BUILD_SWIFT_PLUGIN = @mkdir -p $(@D) && $(SWIFTC) -emit-library -parse-as-library -swift-version 6 \
	-module-name $(basename $(notdir $(patsubst lib%,%,$(notdir $@)))) $(PLUGIN_SWIFTFLAGS) $(PLUGIN_EXTRA_SWIFTFLAGS) \
	-I $(PH_SWIFT_SDK_DIR) -I $(PH_SDK_INCLUDE) -L $(PH_SWIFT_SDK_DIR) -lPluginSDK \
	-o $@.tmp $(filter %.swift,$^) && chmod go-w $@.tmp $(PH_SIGN) && mv $@.tmp $@ && echo "  built $@"

.DEFAULT_GOAL := $(PH_SAVED_DEFAULT_GOAL)
