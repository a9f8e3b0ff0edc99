/* cli.h: the command line: options, dispatch, exit codes, error lines. */
#ifndef IMF_CLI_H
#define IMF_CLI_H

/* cli_main runs imfilter with argv and returns the exit code (sysexits.h). */
int cli_main(int argc, char **argv);

#endif
