/*
 * cellar's version, shown by every program and by /healthz.
 */
#ifndef CELLAR_VERSION_H
#define CELLAR_VERSION_H

#define CELLAR_VERSION	"0.1.0"

#endif
