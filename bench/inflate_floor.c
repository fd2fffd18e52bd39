/* The single-thread floor for unpacking: zlib inflate of each gzip layer
 * given on the command line, output discarded, no hashing, no writes. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

int
main (int argc, char **argv)
{
  static unsigned char in[1 << 18], out[1 << 20];
  unsigned long long total = 0;
  for (int i = 1; i < argc; i++)
    {
      int fd = open (argv[i], O_RDONLY);
      if (fd < 0)
        {
          perror (argv[i]);
          return 1;
        }
      z_stream zs = { 0 };
      if (inflateInit2 (&zs, 15 + 32) != Z_OK)
        return 1;
      ssize_t n;
      int r = Z_OK;
      while ((n = read (fd, in, sizeof in)) > 0)
        {
          zs.next_in = in;
          zs.avail_in = (unsigned) n;
          do
            {
              if (r == Z_STREAM_END)
                inflateReset (&zs);
              zs.next_out = out;
              zs.avail_out = sizeof out;
              r = inflate (&zs, Z_NO_FLUSH);
              if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
                {
                  fprintf (stderr, "%s: inflate error %d\n", argv[i], r);
                  return 1;
                }
              total += sizeof out - zs.avail_out;
            }
          while (zs.avail_in > 0 || zs.avail_out == 0);
        }
      inflateEnd (&zs);
      close (fd);
    }
  printf ("%llu\n", total);
  return 0;
}
