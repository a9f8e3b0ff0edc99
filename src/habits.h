/* habits.h: other tools' spellings, answered with what does the job here. */
#ifndef IMF_HABITS_H
#define IMF_HABITS_H

#include <stddef.h>

/*
 * habit_find looks through argv (up to a "--") for one of ImageMagick's
 * options that people type out of habit (-blur, -gaussian-blur, -sharpen,
 * -unsharp, -convolve, -morphology, -emboss, -edge), which getopt would
 * misread ("-blur 0x2" as -b lur).  It returns the index of the first,
 * with here filled with imfilter's equivalent ("-k gaussian:2", built from
 * the option's argument where it can be), or -1 when there is none.
 */
int habit_find(int argc, char **argv, char *here, size_t size);

#endif
