/* stream.h: one file's whole command with decoding, filtering and encoding overlapped. */
#ifndef IMF_STREAM_H
#define IMF_STREAM_H

#include "err.h"
#include "io.h"
#include "job.h"
#include "kernel.h"

/*
 * What stream_file does for one image: read input (under read's limits;
 * accepted damage comes back in read->damage), apply kernel under job,
 * finish the results as color_finish does (absval, offset) and write
 * output under write (format resolved).
 */
struct stream_job {
	const char *input, *output;
	struct io_read_opts *read;
	struct kernel *kernel;
	const struct job_opts *job;
	const struct io_write_opts *write;
	int absval;
	float offset;
};

/*
 * stream_can says whether stream_file can run a command with these
 * options: one kernel (k), not cross-channel and without a stride,
 * dilation or transpose (layer.h), --shape same, no deconvolution, linear
 * light or --explain, a border other than wrap (whose first rows need the
 * image's last), a PNG or JPEG file as output (not standard output, where
 * a failure midway would leave half an image) and at least two threads.
 */
int stream_can(const struct job_opts *job, int nkernels, const struct kernel *k, int linear,
	       const char *output, enum io_format format);

/*
 * stream_file runs the command, the same bytes as reading, job_filter,
 * color_finish and io_write one after the other: the image is decoded
 * on a thread of its own while the encoder takes the rows that are done,
 * and the rows between are filtered in strips as soon as the rows each
 * strip needs are decoded.  Jobs the strips cannot run bit for bit (an
 * engine other than direct and separable, an image too small for two
 * strips) wait for the whole image and run one after the other.  Errors
 * are those of the serial order: the decoder's first, then the filter's,
 * then the encoder's; no output is left on failure.
 */
int stream_file(const struct stream_job *sj, struct err *err);

#endif
