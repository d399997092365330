/* embed.c: Sluice's C ABI as an app with a calling SDK uses it, and its
 * error paths. Built and run (under Valgrind when there is one) by
 * capi/tests/c_embed.rs, linked against libsluice_capi.
 *
 * Video: 100 camera frames (320x240 i420, padded rows, a striped
 * background) pushed into app_in -> background_blur(mask: portrait) ->
 * app_out; each popped frame must be 320x240 i420, carry its push's
 * timestamp, and have less than half the detail in its top left corner
 * (background under the portrait mask) that the pushed frame had.
 * Audio: 100 frames of 10 ms stereo (f32 and s16 in turn) through
 * gain(db: -6dB), popped at half the level; a live sluice_set to -12dB
 * halves it again. Exit status 0 when every check passed. */

#include "sluice.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int failures = 0;

#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "embed.c:%d: check failed: %s: ", __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                  \
            fprintf(stderr, "\n");                                         \
            failures++;                                                    \
        }                                                                  \
    } while (0)

#define W 320
#define H 240
#define STRIDE (W + 32)
#define FRAMES 100
#define CHANNELS 2
#define SAMPLES 480 /* 10 ms at 48 kHz */
#define PERIOD_NS 33333333ull /* the host's own clock: not the graph's */
#define PTS_BASE 5000000000ull

static const char VIDEO_GRAPH[] =
    "graph video {\n"
    "    blur = background_blur(mask: portrait, radius: 8px)\n"
    "    app_in(name: \"camera\", type: video, size: 320x240, format: i420, fps: 30)\n"
    "        -> blur -> app_out(name: \"outgoing\")\n"
    "}\n";

static const char AUDIO_GRAPH[] =
    "graph audio(rate: 48kHz, frame: 10ms) {\n"
    "    level = gain(db: -6dB)\n"
    "    app_in(name: \"mic\", type: audio, rate: 48kHz, channels: 2)\n"
    "        -> level -> app_out(name: \"speaker\")\n"
    "}\n";

/* A typo in the kind's name on line 3. */
static const char BAD_GRAPH[] =
    "graph bad {\n"
    "    app_in(name: \"camera\", type: video, size: 320x240, format: i420, fps: 30)\n"
    "        -> backgroud_blur(mask: portrait) -> app_out(name: \"outgoing\")\n"
    "}\n";

static void nap(void) {
    struct timespec t = {0, 200000};
    nanosleep(&t, NULL);
}

/* Detail: absolute differences between horizontal neighbours in the top
 * left corner (rows 0..7, columns 0..63), background under the portrait
 * mask. */
static uint64_t edge_energy(const uint8_t *y, size_t stride) {
    uint64_t sum = 0;
    for (int r = 0; r < 8; r++)
        for (int x = 0; x < 63; x++) {
            int a = y[r * stride + x], b = y[r * stride + x + 1];
            sum += (uint64_t)(a > b ? a - b : b - a);
        }
    return sum;
}

/* Vertical stripes 4 pixels wide, moving with k. */
static void draw(uint8_t *y, int k) {
    for (int r = 0; r < H; r++)
        for (int x = 0; x < W; x++)
            y[r * STRIDE + x] = ((x + 4 * k) / 4) % 2 ? 200 : 40;
}

static int contains(const char *text, const char *part) {
    return strstr(text, part) != NULL;
}

static void bad_graphs(void) {
    SluiceStatus err = 0;
    SluiceGraph *g = sluice_graph_open(BAD_GRAPH, strlen(BAD_GRAPH), &err);
    const char *msg = sluice_error_message();
    CHECK(g == NULL && err == SLUICE_ERR_GRAPH, "bad graph: %p, %d", (void *)g, err);
    CHECK(contains(msg, "backgroud_blur") && contains(msg, ":3:"),
          "the diagnostic names the kind and line 3: %s", msg);
    CHECK(contains(msg, "background_blur"), "and suggests the right kind: %s", msg);
    g = sluice_graph_open(NULL, 10, &err);
    CHECK(g == NULL && err == SLUICE_ERR_NULL, "NULL text: %d", err);
    g = sluice_graph_open("\xff\xfe", 2, &err);
    CHECK(g == NULL && err == SLUICE_ERR_ARG, "not UTF-8: %d", err);
    CHECK(sluice_close(NULL) == SLUICE_ERR_NULL, "close(NULL)");
    CHECK(sluice_start(NULL) == SLUICE_ERR_NULL, "start(NULL)");
}

static void video_errors(SluiceGraph *g, SluiceInput *camera, SluiceOutput *outgoing,
                         const uint8_t *const planes[3], const size_t strides[3]) {
    CHECK(sluice_push_video(camera, planes, strides, W, H, SLUICE_FORMAT_I420, 0) ==
              SLUICE_ERR_STATE,
          "a push before start: %s", sluice_error_message());
    CHECK(sluice_start(g) == SLUICE_OK, "start: %s", sluice_error_message());
    CHECK(sluice_start(g) == SLUICE_ERR_STATE, "a second start");
    CHECK(sluice_input(g, "late") == NULL && sluice_last_error() == SLUICE_ERR_STATE,
          "an endpoint after start: %s", sluice_error_message());
    CHECK(sluice_input(g, "camera") == camera, "the same handle again");

    CHECK(sluice_push_video(camera, planes, strides, 640, 480, SLUICE_FORMAT_I420, 0) ==
              SLUICE_ERR_SIZE,
          "wrong size");
    CHECK(contains(sluice_error_message(), "320x240"), "says the size: %s",
          sluice_error_message());
    CHECK(sluice_push_video(camera, planes, strides, W, H, SLUICE_FORMAT_NV12, 0) ==
              SLUICE_ERR_SIZE,
          "wrong format");
    CHECK(sluice_push_video(camera, planes, strides, W, H, 7, 0) == SLUICE_ERR_ARG,
          "unknown format code");
    size_t narrow[3] = {W - 1, W / 2, W / 2};
    CHECK(sluice_push_video(camera, planes, narrow, W, H, SLUICE_FORMAT_I420, 0) ==
              SLUICE_ERR_SIZE,
          "a stride shorter than a row");
    const uint8_t *holes[3] = {planes[0], NULL, planes[2]};
    CHECK(sluice_push_video(camera, holes, strides, W, H, SLUICE_FORMAT_I420, 0) ==
              SLUICE_ERR_NULL,
          "a NULL plane");
    CHECK(contains(sluice_error_message(), "planes[1]"), "names it: %s",
          sluice_error_message());
    CHECK(sluice_push_video(NULL, planes, strides, W, H, SLUICE_FORMAT_I420, 0) ==
              SLUICE_ERR_NULL,
          "NULL input");
    CHECK(sluice_push_video(camera, NULL, strides, W, H, SLUICE_FORMAT_I420, 0) ==
              SLUICE_ERR_NULL,
          "NULL planes");
    CHECK(sluice_push_video(camera, planes, NULL, W, H, SLUICE_FORMAT_I420, 0) ==
              SLUICE_ERR_NULL,
          "NULL strides");
    float samples[SAMPLES * CHANNELS] = {0};
    CHECK(sluice_push_audio(camera, samples, SAMPLES * CHANNELS, 0) == SLUICE_ERR_ENDPOINT,
          "audio into a video input");

    SluiceVideoFrame frame;
    memset(&frame, 0, sizeof frame);
    CHECK(sluice_pop_video(NULL, &frame) == SLUICE_ERR_NULL, "pop from NULL");
    CHECK(sluice_pop_video(outgoing, NULL) == SLUICE_ERR_NULL, "pop into NULL");
    CHECK(sluice_pop_video(outgoing, &frame) == SLUICE_NONE, "nothing pushed yet");
    CHECK(sluice_frame_release(NULL) == SLUICE_ERR_NULL, "release NULL");
    CHECK(sluice_frame_release(&frame) == SLUICE_ERR_ARG, "release a frame never popped");
    CHECK(sluice_set(g, "blurr.radius", "4px") == SLUICE_ERR_PARAM, "unknown node");
    CHECK(contains(sluice_error_message(), "blurr"), "names it: %s", sluice_error_message());
    CHECK(sluice_set(g, "blur.radius", "400px") == SLUICE_ERR_PARAM, "out of range");
    CHECK(sluice_set(g, "blur.mask", "motion") == SLUICE_ERR_PARAM, "not live");
}

static void video(void) {
    SluiceStatus err = -100;
    SluiceGraph *g = sluice_graph_open(VIDEO_GRAPH, strlen(VIDEO_GRAPH), &err);
    CHECK(g != NULL && err == SLUICE_OK, "open: %s", sluice_error_message());
    if (!g) return;
    CHECK(sluice_input(g, "camra") == NULL && sluice_last_error() == SLUICE_ERR_ENDPOINT,
          "unknown input");
    CHECK(contains(sluice_error_message(), "`camera`"), "lists the inputs: %s",
          sluice_error_message());
    CHECK(sluice_output(g, "camera") == NULL && sluice_last_error() == SLUICE_ERR_ENDPOINT,
          "an input is not an output");
    CHECK(sluice_input(NULL, "camera") == NULL && sluice_last_error() == SLUICE_ERR_NULL,
          "NULL graph");
    CHECK(sluice_input(g, NULL) == NULL && sluice_last_error() == SLUICE_ERR_NULL,
          "NULL name");
    SluiceInput *camera = sluice_input(g, "camera");
    SluiceOutput *outgoing = sluice_output(g, "outgoing");
    CHECK(camera && outgoing, "endpoints: %s", sluice_error_message());
    if (!camera || !outgoing) return;

    uint8_t *y = malloc(STRIDE * H), *u = malloc(W / 2 * H / 2), *v = malloc(W / 2 * H / 2);
    memset(u, 128, W / 2 * H / 2);
    memset(v, 128, W / 2 * H / 2);
    const uint8_t *planes[3] = {y, u, v};
    size_t strides[3] = {STRIDE, W / 2, W / 2};
    draw(y, 0);
    uint64_t sharp = edge_energy(y, STRIDE);
    video_errors(g, camera, outgoing, planes, strides);

    int popped = 0, blurred = 0, stamped = 0;
    for (int k = 0; k < FRAMES; k++) {
        draw(y, k);
        uint64_t pts = PTS_BASE + (uint64_t)k * PERIOD_NS;
        SluiceStatus s = sluice_push_video(camera, planes, strides, W, H, SLUICE_FORMAT_I420, pts);
        CHECK(s == SLUICE_OK, "push %d: %d %s", k, s, sluice_error_message());
        SluiceVideoFrame frame;
        int waited = 0;
        while ((s = sluice_pop_video(outgoing, &frame)) == SLUICE_NONE && waited++ < 200000)
            nap();
        CHECK(s == SLUICE_OK, "pop %d: %d %s", k, s, sluice_error_message());
        if (s != SLUICE_OK) break;
        popped++;
        CHECK(frame.width == W && frame.height == H && frame.format == SLUICE_FORMAT_I420 &&
                  frame.plane_count == 3,
              "frame %d is %ux%u format %u", k, frame.width, frame.height, frame.format);
        blurred += edge_energy(frame.planes[0], frame.strides[0]) < sharp / 2;
        stamped += frame.pts_ns == pts;
        uint64_t tick = (uint64_t)k * 1000000000ull / 30;
        CHECK(frame.media_time_ns + 1 >= tick && frame.media_time_ns <= tick + 1,
              "frame %d at media time %llu", k, (unsigned long long)frame.media_time_ns);
        CHECK(sluice_frame_release(&frame) == SLUICE_OK, "release %d", k);
        CHECK(sluice_frame_release(&frame) == SLUICE_ERR_ARG, "a second release of %d", k);
    }
    CHECK(popped == FRAMES && blurred == FRAMES && stamped == FRAMES,
          "%d popped, %d blurred, %d with their push's timestamp", popped, blurred, stamped);
    CHECK(sluice_set(g, "blur.radius", "4px") == SLUICE_OK, "a live change: %s",
          sluice_error_message());

    char small[8];
    size_t len = 0;
    CHECK(sluice_stats(g, small, sizeof small, &len) == SLUICE_OK && len >= sizeof small &&
              strlen(small) == sizeof small - 1,
          "a cut report says its length: %zu", len);
    char *json = malloc(len + 1);
    CHECK(sluice_stats(g, json, len + 1, &len) == SLUICE_OK && strlen(json) == len, "stats");
    CHECK(contains(json, "\"state\":\"running\"") && contains(json, "\"queued\":100") &&
              contains(json, "\"kind\":\"background_blur\""),
          "stats: %s", json);
    free(json);
    CHECK(sluice_stats(g, NULL, 0, NULL) == SLUICE_ERR_NULL, "stats into NULL len");

    CHECK(sluice_stop(g) == SLUICE_OK, "stop: %s", sluice_error_message());
    CHECK(sluice_push_video(camera, planes, strides, W, H, SLUICE_FORMAT_I420, 0) ==
              SLUICE_ERR_STATE,
          "a push after stop");
    SluiceVideoFrame rest;
    SluiceStatus s;
    while ((s = sluice_pop_video(outgoing, &rest)) == SLUICE_OK) sluice_frame_release(&rest);
    CHECK(s == SLUICE_ENDED, "drained after stop: %d", s);
    CHECK(sluice_close(g) == SLUICE_OK, "close");
    free(y);
    free(u);
    free(v);
}

/* Pushes frame k (f32 when k is even, s16 when odd) of a constant +0.5 /
 * -0.5 stereo signal; pops it back the same way. Returns the popped left
 * channel's level (its first sample), or -1. */
static float audio_round(SluiceInput *mic, SluiceOutput *speaker, int k) {
    float f[SAMPLES * CHANNELS];
    int16_t s16[SAMPLES * CHANNELS];
    for (int i = 0; i < SAMPLES * CHANNELS; i++) {
        f[i] = i % 2 ? -0.5f : 0.5f;
        s16[i] = i % 2 ? -16384 : 16384;
    }
    uint64_t pts = PTS_BASE + (uint64_t)k * 10000000ull;
    SluiceStatus s = k % 2 ? sluice_push_audio_i16(mic, s16, SAMPLES * CHANNELS, pts)
                           : sluice_push_audio(mic, f, SAMPLES * CHANNELS, pts);
    CHECK(s == SLUICE_OK, "audio push %d: %d %s", k, s, sluice_error_message());
    SluiceAudioInfo info;
    int waited = 0;
    do {
        s = k % 2 ? sluice_pop_audio_i16(speaker, s16, SAMPLES * CHANNELS, &info)
                  : sluice_pop_audio(speaker, f, SAMPLES * CHANNELS, &info);
    } while (s == SLUICE_NONE && waited++ < 200000 && (nap(), 1));
    CHECK(s == SLUICE_OK, "audio pop %d: %d %s", k, s, sluice_error_message());
    if (s != SLUICE_OK) return -1;
    CHECK(info.channels == CHANNELS && info.samples == SAMPLES && info.pts_ns == pts,
          "audio %d: %u channels of %u, pts %llu", k, info.channels, info.samples,
          (unsigned long long)info.pts_ns);
    float left = k % 2 ? s16[SAMPLES] / 32767.0f : f[SAMPLES];
    float right = k % 2 ? s16[SAMPLES + 1] / 32767.0f : f[SAMPLES + 1];
    CHECK(left == -right, "audio %d: channels kept apart: %f %f", k, left, right);
    return left; /* a sample mid-frame: past any ramp's start */
}

static void audio(void) {
    SluiceStatus err = -100;
    SluiceGraph *g = sluice_graph_open(AUDIO_GRAPH, strlen(AUDIO_GRAPH), &err);
    CHECK(g != NULL && err == SLUICE_OK, "open audio: %s", sluice_error_message());
    if (!g) return;
    SluiceInput *mic = sluice_input(g, "mic");
    SluiceOutput *speaker = sluice_output(g, "speaker");
    CHECK(mic && speaker, "audio endpoints: %s", sluice_error_message());
    if (!mic || !speaker) return;
    CHECK(sluice_start(g) == SLUICE_OK, "start audio");
    float short_frame[100] = {0};
    CHECK(sluice_push_audio(mic, short_frame, 100, 0) == SLUICE_ERR_SIZE, "a short frame");
    CHECK(contains(sluice_error_message(), "960"), "says the count: %s",
          sluice_error_message());
    CHECK(sluice_push_audio(mic, NULL, 960, 0) == SLUICE_ERR_NULL, "NULL samples");
    const uint8_t *planes[3] = {0};
    size_t strides[3] = {0};
    CHECK(sluice_push_video(mic, planes, strides, W, H, SLUICE_FORMAT_I420, 0) ==
              SLUICE_ERR_ENDPOINT,
          "video into an audio input");

    /* One frame in first: the wrong pop buffer and the wrong pop leave it. */
    float first[SAMPLES * CHANNELS] = {0};
    CHECK(sluice_push_audio(mic, first, SAMPLES * CHANNELS, 1) == SLUICE_OK, "first push");
    SluiceStatus s;
    while ((s = sluice_pop_audio(speaker, short_frame, 100, NULL)) == SLUICE_NONE) nap();
    CHECK(s == SLUICE_ERR_SIZE, "a short pop buffer: %d", s);
    SluiceVideoFrame frame;
    CHECK(sluice_pop_video(speaker, &frame) == SLUICE_ERR_ENDPOINT, "video from audio");
    CHECK(sluice_pop_audio(speaker, first, SAMPLES * CHANNELS, NULL) == SLUICE_OK,
          "the frame is still there after refused pops");

    int at_half = 0, at_quarter = 0;
    for (int k = 0; k < FRAMES; k++) {
        if (k == FRAMES / 2)
            CHECK(sluice_set(g, "level.db", "-12dB") == SLUICE_OK, "live gain: %s",
                  sluice_error_message());
        float level = audio_round(mic, speaker, k);
        /* -6 dB of 0.5 = 0.2506; -12 dB = 0.1256 (s16 rounding aside) */
        if (k < FRAMES / 2) at_half += level > 0.2496f && level < 0.2516f;
        if (k > FRAMES / 2) at_quarter += level > 0.1246f && level < 0.1266f;
    }
    CHECK(at_half == FRAMES / 2 && at_quarter == FRAMES / 2 - 1,
          "levels: %d frames at -6 dB, %d at -12 dB", at_half, at_quarter);
    CHECK(sluice_close(g) == SLUICE_OK, "close audio (stops it)");
}

int main(void) {
    bad_graphs();
    video();
    audio();
    if (failures) {
        fprintf(stderr, "embed.c: %d checks failed\n", failures);
        return 1;
    }
    printf("embed.c: every check passed\n");
    return 0;
}
