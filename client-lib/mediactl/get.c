/* `mediactl get`: one getUserMedia() call from the command line; shows the chosen settings of
 * each track (or the error, by the spec's name), then stops the tracks. */
#include <getopt.h>
#include <stdlib.h>

#include "mediactl.h"

static void help(void) {
        printf("mediactl get [--video JSON] [--audio JSON] [--origin ORIGIN] [--reason TEXT]\n             [--json[=pretty|short]]\n\n"
               "Ask for a camera and/or a microphone as getUserMedia() does, wait for the decision,\n"
               "print the chosen settings of each track, then stop the tracks.\n"
               "JSON is spelled as in JavaScript: true, or constraints such as\n"
               "'{\"width\":{\"min\":1280},\"frameRate\":30}'.\n\n"
               "  --video JSON     Camera constraints (true, false or a MediaTrackConstraints object)\n"
               "  --audio JSON     Microphone constraints\n"
               "  --origin ORIGIN  Ask on behalf of a web origin (trusted brokers only)\n"
               "  --reason TEXT    Why, shown to the user in the prompt\n"
               OUTPUT_OPTIONS_HELP
               "  -h --help        Show this help\n\n"
               "Errors exit with 1 and print \"mediactl: NAME: MESSAGE\" (NotAllowedError, ...).\n");
}

static int print_tracks_json(const MgRequest *req) {
        json_object *o = json_object_new_object(), *tracks = json_object_new_array();

        for (size_t i = 0; o && tracks && i < mg_request_get_n_tracks(req); i++)
                if (json_append(tracks, track_to_json(mg_request_get_track(req, i))) < 0) {
                        json_object_put(tracks);
                        tracks = NULL;
                }
        if (o && json_add(o, "tracks", tracks) < 0) {
                json_object_put(o);
                o = NULL;
        } else if (!o)
                json_object_put(tracks);
        return print_json(o);
}

int verb_get(Context *ctx, int argc, char *argv[]) {
        static const struct option options[] = {
                MEDIA_OPTIONS,
                {},
        };
        static const VerbSyntax syntax = {
                .name = "get", .help = help, .output = true, .options = options, .on_option = media_option,
        };
        _cleanup_(mg_client_unrefp) MgClient *client = NULL;
        _cleanup_(mg_request_unrefp) MgRequest *req = NULL;
        _cleanup_(mg_error_clear) MgError err = MG_ERROR_INIT;
        MediaArgs args = {};
        int r, ret;

        r = parse_verb(ctx, &syntax, argc, argv, &args);
        if (r <= 0)
                return parse_verb_exit(r);
        /* Neither --video nor --audio is passed on as it is: the daemon then says TypeError,
         * as getUserMedia({}) does. */

        r = context_connect(ctx, &client);
        if (r < 0)
                return EXIT_FAILURE;
        r = media_request(client, &args, &req, &err);
        if (r < 0)
                return print_media_error(&err, r, ctx->json);

        if (ctx->json)
                ret = print_tracks_json(req);
        else {
                for (size_t i = 0; i < mg_request_get_n_tracks(req); i++)
                        print_track(mg_request_get_track(req, i), stdout);
                ret = fflush(stdout) == 0 ? EXIT_SUCCESS : print_errno(-EIO, "Failed to write the output");
        }

        /* stop(): the devices are released now rather than when we leave the bus. */
        for (size_t i = 0; i < mg_request_get_n_tracks(req); i++) {
                r = mg_track_stop(mg_request_get_track(req, i), &err);
                if (r < 0)
                        ret = print_error(&err, r);
        }
        return ret;
}
