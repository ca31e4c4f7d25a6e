/* What the MicroPython C module (micropython-module/_mqttas.c) calls of
 * the client and the outage policy: full.c with SIZE_MODULE (see there). */
#define SIZE_MODULE
#include "full.c"
