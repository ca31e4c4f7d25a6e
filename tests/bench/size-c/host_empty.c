/* The host baseline: an empty program, linked like the others. */
int main(void)
{
    return 0;
}
