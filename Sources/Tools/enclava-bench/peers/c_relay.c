/*
 * The relay benchmark's peer (`enclava-bench relay`): the least a relay can do — accept TCP connections and
 * copy bytes both ways to one Unix socket, a thread per direction, 256 KiB buffers, no parsing,
 * no limits. `enclava serve` (which parses every frame, enforces limits and tracks calls) is compared with it.
 *
 * Usage: c_relay PORT UNIX_PATH   (prints "ready" on stdout once listening)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char *target_path;

static int write_all(int fd, const char *bytes, ssize_t length) {
    while (length > 0) {
        ssize_t n = send(fd, bytes, (size_t)length, MSG_NOSIGNAL);
        if (n <= 0) return -1;
        bytes += n;
        length -= n;
    }
    return 0;
}

struct pipe_ends { int from, to; };

/* One direction, blocking: a relay that copied both directions on one thread could block writing to one side
   while that side waits for it to read (a deadlock under back-pressure), so each direction has its own. */
static void *copy_one_way(void *argument) {
    struct pipe_ends ends = *(struct pipe_ends *)argument;
    free(argument);
    char *buffer = malloc(256 * 1024);
    for (;;) {
        ssize_t n = recv(ends.from, buffer, 256 * 1024, 0);
        if (n <= 0 || write_all(ends.to, buffer, n) != 0) break;
    }
    free(buffer);
    shutdown(ends.from, SHUT_RDWR);
    shutdown(ends.to, SHUT_RDWR);
    return NULL;
}

static void *relay(void *argument) {
    int client = (int)(intptr_t)argument;
    int upstream = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, target_path, sizeof address.sun_path - 1);
    if (upstream < 0 || connect(upstream, (struct sockaddr *)&address, sizeof address) != 0) {
        close(client);
        if (upstream >= 0) close(upstream);
        return NULL;
    }
    struct pipe_ends *up = malloc(sizeof *up), *down = malloc(sizeof *down);
    *up = (struct pipe_ends){client, upstream};
    *down = (struct pipe_ends){upstream, client};
    pthread_t back;
    pthread_create(&back, NULL, copy_one_way, down);
    copy_one_way(up);
    pthread_join(back, NULL);
    close(client);
    close(upstream);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: c_relay PORT UNIX_PATH\n");
        return 2;
    }
    /* A parent may have blocked signals (the Swift runtime does on its threads); the benchmark stops us with one. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_IGN);
    target_path = argv[2];
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 256) != 0) {
        perror("c_relay: listen");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        int client = accept(listener, NULL, NULL);
        if (client < 0) continue;
        setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_t thread;
        pthread_create(&thread, NULL, relay, (void *)(intptr_t)client);
        pthread_detach(thread);
    }
}
