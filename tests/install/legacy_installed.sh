#!/bin/sh
# legacy_installed.sh COBC FC PREFIX LIBDIR OUT EXAMPLES COBOL_CONSUMER COBOL_PRODUCER FORTRAN_SUBSCRIBER FORTRAN_SENDER
#
# Builds the COBOL and Fortran examples the way a legacy build outside the
# tree would: against the installed copybooks (PREFIX/share/ringdrop/cobol)
# and Fortran module (PREFIX/share/ringdrop/fortran) and the installed
# libringdrop.so, never the source tree's copies (the programs are copied
# into OUT, where no copybook is); then runs each with its C++ partner,
# which checks every field. A partner given as "-" (cobc or gfortran
# missing) skips that language.
set -eu
cobc=$1 fc=$2 prefix=$3 libdir=$4 out=$5 examples=$6
cobol_consumer=$7 cobol_producer=$8 fortran_subscriber=$9 fortran_sender=${10}
lib="$prefix/$libdir"
rm -rf "$out"
mkdir -p "$out"
cd "$out"

if [ "$cobc" != "-" ]; then
  for program in ring_sender ring_receiver; do
    cp "$examples/cobol/$program.cob" .
    "$cobc" -x -fstatic-call -I "$prefix/share/ringdrop/cobol" -o "$program" "$program.cob" \
      -L "$lib" -lringdrop -Q -Wl,-rpath,"$lib"
  done
  "$cobol_consumer" ring "$out/ring_sender"
  "$cobol_producer" ring "$out/ring_receiver"
fi

if [ "$fc" != "-" ]; then
  for program in publisher receiver; do
    mkdir -p "mod-$program"
    "$fc" -std=f2018 -Wall -Wextra -Werror -J "mod-$program" -o "$program" \
      "$prefix/share/ringdrop/fortran/ringdrop_c.f90" "$examples/fortran/$program.f90" \
      -L "$lib" -lringdrop -Wl,-rpath,"$lib"
  done
  "$fortran_subscriber" "$out/publisher" 20
  "$fortran_sender" "$out/receiver" 20
fi
echo "legacy_installed: ok"
