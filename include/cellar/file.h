/*
 * Files written whole.  Every file cellar writes is written to a
 * temporary name in the same directory, synced, renamed over the final
 * name and the directory synced (rename(2) is atomic; a crash leaves the
 * old file or the new one, never a torn one; without the directory sync
 * the rename itself may not survive a power loss).  Removals sync the
 * directory too.  All return 0 or -1 with errno set.
 */
#ifndef CELLAR_FILE_H
#define CELLAR_FILE_H

#include <stddef.h>

/*
 * Formats a path into out (outsz bytes).  A path that does not fit
 * leaves out empty (every file call on it fails: never a shorter path
 * naming another file) and returns -1 (ENAMETOOLONG).
 */
int	 file_pathf(char *out, size_t outsz, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Syncs the directory dir (its entries: renames, creations, unlinks). */
int	 file_fsync_dir(const char *dir);

/* Syncs the file at path (its data and size). */
int	 file_fsync(const char *path);

/* Syncs the directory holding path. */
int	 file_fsync_parent(const char *path);

/*
 * Writes buf[0..len) to path whole, mode 0600: path.tmp, fsync,
 * rename, directory fsync.  A leftover path.tmp of a killed writer is
 * replaced.
 */
int	 file_write_whole(const char *path, const void *buf, size_t len)
	    __attribute__((warn_unused_result));

/* Copies from to a new file to (mode 0600, which must not exist), synced. */
int	 file_copy(const char *from, const char *to)
	    __attribute__((warn_unused_result));

/*
 * SHA-256 of the file at path as 64 lowercase hex digits (hex holds 65
 * bytes) and its size in bytes.
 */
int	 file_sha256(const char *path, char hex[65], long long *size)
	    __attribute__((warn_unused_result));

/*
 * Removes path and, if it is a directory, everything under it, without
 * following symbolic links, then syncs the parent directory.  A missing
 * path is success.
 */
int	 file_remove_tree(const char *path);

#endif
