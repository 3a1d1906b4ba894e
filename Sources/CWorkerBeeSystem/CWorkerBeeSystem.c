#define _GNU_SOURCE
#include "CWorkerBeeSystem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <unistd.h>
#include <dlfcn.h>

#if defined(__linux__)
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif

int wb_set_parent_death_signal(int signal) {
#if defined(__linux__)
    return prctl(PR_SET_PDEATHSIG, (unsigned long)signal, 0, 0, 0);
#else
    (void)signal;
    errno = ENOSYS;
    return -1;
#endif
}

int wb_pipe_cloexec(int fds[2]) {
#if defined(__linux__)
    return pipe2(fds, O_CLOEXEC);
#else
    if (pipe(fds) != 0) return -1;
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
#endif
}

int wb_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
             int stdin_fd, int stdout_fd, int stderr_fd) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int rc = posix_spawn_file_actions_init(&actions);
    if (rc != 0) return rc;
    rc = posix_spawnattr_init(&attributes);
    if (rc != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return rc;
    }
    // dup2 clears FD_CLOEXEC on the target, so the three survive exec; every descriptor the
    // host opens is close-on-exec, so nothing else leaks into the child.
    posix_spawn_file_actions_adddup2(&actions, stdin_fd, 0);
    posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    // A descriptor someone else in the host opened without close-on-exec (a library, a caller's
    // file) must not leak into the worker either: close everything above 2.
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
#endif

    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &all);
    posix_spawnattr_setflags(&attributes, flags);

    rc = posix_spawn(pid, path, &actions, &attributes, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    return rc;
}

int wb_pidfd_open(pid_t pid) {
#if defined(__linux__) && defined(SYS_pidfd_open)
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
#else
    (void)pid;
    errno = ENOSYS;
    return -1;
#endif
}

#if defined(__linux__)
#include <sys/epoll.h>
#endif

int wb_epoll_create(void) {
#if defined(__linux__)
    return epoll_create1(EPOLL_CLOEXEC);
#else
    errno = ENOSYS;
    return -1;
#endif
}

int wb_epoll_add(int epfd, int fd) {
#if defined(__linux__)
    struct epoll_event event = {0};
    event.events = EPOLLIN;
    event.data.fd = fd;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
#else
    (void)epfd; (void)fd;
    errno = ENOSYS;
    return -1;
#endif
}

int wb_epoll_remove(int epfd, int fd) {
#if defined(__linux__)
    struct epoll_event event = {0};
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &event);
#else
    (void)epfd; (void)fd;
    errno = ENOSYS;
    return -1;
#endif
}

int wb_epoll_wait_one(int epfd) {
#if defined(__linux__)
    struct epoll_event event;
    int count = epoll_wait(epfd, &event, 1, -1);
    if (count <= 0) return -1;
    return event.data.fd;
#else
    (void)epfd;
    errno = ENOSYS;
    return -1;
#endif
}

const char *wb_library_path_of(const void *address) {
    Dl_info info;
    if (dladdr(address, &info) == 0 || info.dli_fname == NULL) return NULL;
    return info.dli_fname;
}

const char *wb_llama_patches(void) {
    const char *(*patches)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "ggml_cpu_workerbee_patches");
    return patches ? patches() : NULL;
}

ssize_t wb_read_retrying(int fd, void *buf, size_t n) {
    ssize_t count;
    do {
        count = read(fd, buf, n);
    } while (count < 0 && errno == EINTR);
    return count;
}

int wb_write_all(int fd, const void *buf, size_t n) {
    const char *bytes = buf;
    while (n > 0) {
        ssize_t written = write(fd, bytes, n);
        if (written < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        bytes += written;
        n -= (size_t)written;
    }
    return 0;
}
