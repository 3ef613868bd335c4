package fiftytests

// Fifty identical tests; see wordCountTest.

import "testing"

func TestWordCount01(t *testing.T) { wordCountTest(t) }
func TestWordCount02(t *testing.T) { wordCountTest(t) }
func TestWordCount03(t *testing.T) { wordCountTest(t) }
func TestWordCount04(t *testing.T) { wordCountTest(t) }
func TestWordCount05(t *testing.T) { wordCountTest(t) }
func TestWordCount06(t *testing.T) { wordCountTest(t) }
func TestWordCount07(t *testing.T) { wordCountTest(t) }
func TestWordCount08(t *testing.T) { wordCountTest(t) }
func TestWordCount09(t *testing.T) { wordCountTest(t) }
func TestWordCount10(t *testing.T) { wordCountTest(t) }
func TestWordCount11(t *testing.T) { wordCountTest(t) }
func TestWordCount12(t *testing.T) { wordCountTest(t) }
func TestWordCount13(t *testing.T) { wordCountTest(t) }
func TestWordCount14(t *testing.T) { wordCountTest(t) }
func TestWordCount15(t *testing.T) { wordCountTest(t) }
func TestWordCount16(t *testing.T) { wordCountTest(t) }
func TestWordCount17(t *testing.T) { wordCountTest(t) }
func TestWordCount18(t *testing.T) { wordCountTest(t) }
func TestWordCount19(t *testing.T) { wordCountTest(t) }
func TestWordCount20(t *testing.T) { wordCountTest(t) }
func TestWordCount21(t *testing.T) { wordCountTest(t) }
func TestWordCount22(t *testing.T) { wordCountTest(t) }
func TestWordCount23(t *testing.T) { wordCountTest(t) }
func TestWordCount24(t *testing.T) { wordCountTest(t) }
func TestWordCount25(t *testing.T) { wordCountTest(t) }
func TestWordCount26(t *testing.T) { wordCountTest(t) }
func TestWordCount27(t *testing.T) { wordCountTest(t) }
func TestWordCount28(t *testing.T) { wordCountTest(t) }
func TestWordCount29(t *testing.T) { wordCountTest(t) }
func TestWordCount30(t *testing.T) { wordCountTest(t) }
func TestWordCount31(t *testing.T) { wordCountTest(t) }
func TestWordCount32(t *testing.T) { wordCountTest(t) }
func TestWordCount33(t *testing.T) { wordCountTest(t) }
func TestWordCount34(t *testing.T) { wordCountTest(t) }
func TestWordCount35(t *testing.T) { wordCountTest(t) }
func TestWordCount36(t *testing.T) { wordCountTest(t) }
func TestWordCount37(t *testing.T) { wordCountTest(t) }
func TestWordCount38(t *testing.T) { wordCountTest(t) }
func TestWordCount39(t *testing.T) { wordCountTest(t) }
func TestWordCount40(t *testing.T) { wordCountTest(t) }
func TestWordCount41(t *testing.T) { wordCountTest(t) }
func TestWordCount42(t *testing.T) { wordCountTest(t) }
func TestWordCount43(t *testing.T) { wordCountTest(t) }
func TestWordCount44(t *testing.T) { wordCountTest(t) }
func TestWordCount45(t *testing.T) { wordCountTest(t) }
func TestWordCount46(t *testing.T) { wordCountTest(t) }
func TestWordCount47(t *testing.T) { wordCountTest(t) }
func TestWordCount48(t *testing.T) { wordCountTest(t) }
func TestWordCount49(t *testing.T) { wordCountTest(t) }
func TestWordCount50(t *testing.T) { wordCountTest(t) }
