/*
 * Stand-in for NAIF CSPICE's SpiceUsr.h, used only to compile GMAT R2026a (PyPI gmatpy
 * 0.2.0) with GMAT_ENABLE_SPICE=OFF. GMAT's public headers still name the SPICE scalar
 * types; this header defines exactly those, as CSPICE does on 64-bit Linux
 * (SpiceZdf.h: SpiceInt is int on LP64 Linux, SpiceBoolean is int). No SPICE function is
 * declared: the no-SPICE engine must not call any.
 */
#ifndef GMAT_SWEEP_DASK_SPICEUSR_STUB_H
#define GMAT_SWEEP_DASK_SPICEUSR_STUB_H

typedef int SpiceInt;
typedef double SpiceDouble;
typedef char SpiceChar;
typedef const char ConstSpiceChar;
typedef int SpiceBoolean;
typedef const int ConstSpiceInt;
typedef const double ConstSpiceDouble;

#endif
