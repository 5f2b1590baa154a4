// The disk's floor under a commit: how long `fdatasync` of a 32 KiB write takes while a second
// thread does what SQLite's checkpointer does beside the writer (every 50 ms, 400 KiB of pages
// written, then synced). The commit writes go round an 80 MiB file written ahead, as SQLite reuses
// its WAL. The checkpoint writes either append (the database file grows, so its syncs commit a new
// size in the file system's journal) or land in a file written ahead (nothing allocated), to show
// whether the file's growth is what the commits' syncs wait on. Prints p50/p90/p99/p99.9/max.
//
// Usage: sync_floor DIRECTORY grow|prewritten SYNCS
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { PAGE = 4096, COMMIT_BYTES = 32768, WAL_BYTES = 80 << 20, CHECKPOINT_PAGES = 100, AHEAD_BYTES = 256 << 20 };

static volatile int finished = 0;
static int prewritten, database_fd;
static char database[4096], wal[4096];

static double milliseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void fail(const char *what) {
    perror(what);
    exit(1);
}

/// Fills a file with zeros, synced: blocks that later writes overwrite without allocating.
static void write_ahead(int fd, long bytes) {
    static char zeros[1 << 20];
    for (long done = 0; done < bytes; done += sizeof zeros)
        if (write(fd, zeros, sizeof zeros) != sizeof zeros) fail("write");
    if (fsync(fd) != 0) fail("fsync");
}

static void *checkpointer(void *unused) {
    char page[PAGE] = {0};
    off_t end = 0;
    while (!finished) {
        for (int i = 0; i < CHECKPOINT_PAGES; i++, end += PAGE)
            if (pwrite(database_fd, page, PAGE, prewritten ? end % AHEAD_BYTES : end) != PAGE) fail("pwrite");
        if (fdatasync(database_fd) != 0) fail("fdatasync");
        usleep(50000);
    }
    return unused;
}

static int ascending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 4 || (strcmp(argv[2], "grow") && strcmp(argv[2], "prewritten"))) {
        fprintf(stderr, "usage: sync_floor DIRECTORY grow|prewritten SYNCS\n");
        return 2;
    }
    prewritten = strcmp(argv[2], "prewritten") == 0;
    int syncs = atoi(argv[3]);
    snprintf(database, sizeof database, "%s/sync_floor.db", argv[1]);
    snprintf(wal, sizeof wal, "%s/sync_floor.wal", argv[1]);

    int fd = open(wal, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) fail(wal);
    write_ahead(fd, WAL_BYTES);
    database_fd = open(database, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (database_fd < 0) fail(database);
    if (prewritten) write_ahead(database_fd, AHEAD_BYTES);
    pthread_t thread;
    pthread_create(&thread, NULL, checkpointer, NULL);

    static char commit[COMMIT_BYTES];
    double *took = malloc(sizeof(double) * syncs);
    off_t offset = 0;
    for (int i = 0; i < syncs; i++) {
        double start = milliseconds();
        if (pwrite(fd, commit, COMMIT_BYTES, offset) != COMMIT_BYTES) fail("pwrite");
        if (fdatasync(fd) != 0) fail("fdatasync");
        took[i] = milliseconds() - start;
        offset = (offset + COMMIT_BYTES) % WAL_BYTES;
        usleep(1000);
    }
    finished = 1;
    pthread_join(thread, NULL);
    close(fd);
    close(database_fd);
    unlink(database);
    unlink(wal);

    qsort(took, syncs, sizeof(double), ascending);
    printf("sync floor, checkpoint file %s: %d syncs of 32 KiB: p50 %.2f p90 %.2f p99 %.2f p99.9 %.2f max %.2f ms\n",
           prewritten ? "written ahead" : "growing", syncs, took[syncs / 2], took[syncs * 9 / 10], took[syncs * 99 / 100],
           took[syncs * 999 / 1000], took[syncs - 1]);
    return 0;
}
