#ifndef WORKERBEE_SYSTEM_H
#define WORKERBEE_SYSTEM_H

#include <stddef.h>
#include <sys/types.h>

/// Asks the kernel to send `signal` to this process when its parent dies (Linux:
/// PR_SET_PDEATHSIG). Returns 0 on success, -1 where the platform has no such call.
int wb_set_parent_death_signal(int signal);

/// Creates a pipe whose both ends are close-on-exec. Returns 0, or -1 with errno set.
int wb_pipe_cloexec(int fds[2]);

/// Spawns `path` with `argv`/`envp`, with `stdin_fd`, `stdout_fd` and `stderr_fd` as the
/// child's descriptors 0, 1 and 2, every other descriptor closed, and the default signal
/// mask and dispositions. Returns 0 and stores the pid, or an errno value.
int wb_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
             int stdin_fd, int stdout_fd, int stderr_fd);

/// A descriptor that becomes readable when process `pid` exits (Linux 5.3+ pidfd_open), so
/// the exit can be awaited with epoll instead of polling. Returns -1 with errno set where the
/// kernel or platform has none.
int wb_pidfd_open(pid_t pid);

/// Creates an epoll instance, close-on-exec (Linux). Returns -1 with errno set elsewhere.
int wb_epoll_create(void);

/// Watches `fd` for readability in `epfd`, with `fd` itself as the event's key.
/// Returns 0, or -1 with errno set.
int wb_epoll_add(int epfd, int fd);

/// Stops watching `fd`. Call it before closing `fd`: closing alone leaves the registration in
/// place while any other process still holds a copy of the descriptor (a child being spawned
/// holds copies of every descriptor until it execs), and its stale events would name a
/// descriptor number that may by then belong to something else. Returns 0, or -1 with errno set.
int wb_epoll_remove(int epfd, int fd);

/// Blocks until one watched descriptor is ready and returns it (it stays watched until
/// `wb_epoll_remove`). Returns -1 with errno set (EINTR included).
int wb_epoll_wait_one(int epfd);

/// One `read(2)` of at most `n` bytes from `fd`, repeated while a signal interrupts it (EINTR).
/// Returns the count read (0 at end of file), or -1 with errno set.
ssize_t wb_read_retrying(int fd, void *buf, size_t n);

/// Writes all `n` bytes of `buf` to `fd`, going on after short writes and after writes a
/// signal interrupted (EINTR). Returns 0, or -1 with errno set (EPIPE: the reader is gone);
/// on -1 an unknown prefix of the bytes may have been written.
int wb_write_all(int fd, const void *buf, size_t n);

/// The file of the loaded library (or program) that holds `address`, or NULL.
const char *wb_library_path_of(const void *address);

/// The patches WorkerBee applied to the loaded llama.cpp (`ggml_cpu_workerbee_patches`, a
/// symbol that only a llama.cpp built by scripts/bootstrap has), comma-separated; NULL for a
/// llama.cpp without them.
const char *wb_llama_patches(void);

#endif
